/**
 * Tab completion from the Metadata: after FROM, INTO, UPDATE, TABLE, TRUNCATE, COPY and DESCRIBE the names of
 * tables (of the keyspace in use, or `ks.` typed) and keyspaces; after USE and KEYSPACE keyspaces; elsewhere CQL
 * and shell keywords and the columns of the tables the line names. Returns readline's `[candidates, word]`.
 */
import type { Metadata } from "@effect-cql/driver"

const keywords = (
  "SELECT FROM WHERE AND INSERT INTO VALUES UPDATE SET DELETE CREATE ALTER DROP TRUNCATE TABLE KEYSPACE TYPE INDEX " +
  "MATERIALIZED VIEW PRIMARY KEY WITH IF EXISTS NOT LIMIT ORDER BY ASC DESC ALLOW FILTERING USING TTL TIMESTAMP " +
  "BATCH BEGIN APPLY UNLOGGED USE GRANT REVOKE ON TO DESCRIBE CONSISTENCY SERIAL PAGING EXPAND TRACING COPY SOURCE " +
  "SHOW VERSION HOST EXIT QUIT KEYSPACES TABLES TYPES CLUSTER SCHEMA HEADER"
).split(" ")

const tableContext = new Set(["from", "into", "update", "table", "truncate", "copy", "describe", "desc", "columnfamily"])
const keyspaceContext = new Set(["use", "keyspace"])

export const complete = (
  line: string,
  md: Metadata.Metadata,
  current: string | undefined
): [Array<string>, string] => {
  const word = /[\w."]*$/.exec(line)?.[0] ?? ""
  const before = line.slice(0, line.length - word.length)
  const previous = /(\w+)\s*$/.exec(before)?.[1]?.toLowerCase() ?? ""
  const keyspaces = [...md.keyspaces.keys()]
  const tablesOf = (ks: string) => [...(md.keyspaces.get(ks)?.tables.keys() ?? [])]

  let candidates: Array<string>
  const dot = word.indexOf(".")
  if (dot >= 0) {
    const ks = word.slice(0, dot).replaceAll('"', "")
    candidates = tablesOf(ks).map((t) => `${word.slice(0, dot)}.${t}`)
  } else if (keyspaceContext.has(previous)) {
    candidates = keyspaces
  } else if (tableContext.has(previous)) {
    candidates = [...(current === undefined ? [] : tablesOf(current)), ...keyspaces.map((k) => `${k}.`)]
  } else {
    candidates = [...keywords, ...columnsNamedIn(line, md, current)]
  }
  const lower = word.toLowerCase()
  const hits = [...new Set(candidates)].filter((c) => c.toLowerCase().startsWith(lower))
  // Keywords complete in the case the user types them in.
  return [[...new Set(hits.map((h) => (word !== "" && word === lower && keywords.includes(h) ? h.toLowerCase() : h)))].sort(), word]
}

/** Columns of every table the line names (`ks.t`, or `t` in the keyspace in use). */
const columnsNamedIn = (line: string, md: Metadata.Metadata, current: string | undefined): Array<string> => {
  const out: Array<string> = []
  for (const [, a, b] of line.matchAll(/\b(\w+)(?:\.(\w+))?\b/g)) {
    const [ks, name] = b === undefined ? [current, a!] : [a!, b]
    const t = ks === undefined ? undefined : md.keyspaces.get(ks)?.tables.get(name)
    if (t !== undefined) for (const c of t.columns) out.push(c.name)
  }
  return out
}
