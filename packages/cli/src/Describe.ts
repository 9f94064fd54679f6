/**
 * DESCRIBE: the schema as CQL, from the Cluster's Metadata through the driver's SchemaExport (no query of the
 * server's own DESCRIBE, so it reads the same on every server version). Forms, as in cqlsh:
 *
 *   DESCRIBE CLUSTER | KEYSPACES | TABLES | TYPES | SCHEMA | FULL SCHEMA
 *   DESCRIBE KEYSPACE [ks] | TABLE [ks.]t | TYPE [ks.]t | [ks.]name   (a keyspace, else a table, else a type)
 */
import { Metadata, SchemaExport } from "@effect-cql/driver"
import { Data, Either } from "effect"

export class DescribeError extends Data.TaggedError("DescribeError")<{ readonly message: string }> {}

/** A name as typed: double-quoted names keep their case, bare ones are folded to lower case. */
const unquote = (name: string): string => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase())

/** `ks.name` or `name` (in the current keyspace). */
const qualified = (text: string, current: string | undefined): Either.Either<{ keyspace: string; name: string }, DescribeError> => {
  const m = /^("(?:[^"]|"")+"|[\w]+)(?:\.("(?:[^"]|"")+"|[\w]+))?$/.exec(text.trim())
  if (m === null) return Either.left(new DescribeError({ message: `not a name: ${text}` }))
  if (m[2] !== undefined) return Either.right({ keyspace: unquote(m[1]!), name: unquote(m[2]) })
  if (current === undefined) return Either.left(new DescribeError({ message: `no keyspace in use: name one, as ks.${text.trim()}` }))
  return Either.right({ keyspace: current, name: unquote(m[1]!) })
}

const names = (xs: Iterable<string>): string => {
  const sorted = [...xs].sort()
  return sorted.length === 0 ? "" : `${sorted.map(SchemaExport.quoteName).join("  ")}\n`
}

/** The text DESCRIBE prints for `args` (what follows the word DESCRIBE). */
export const describe = (
  md: Metadata.Metadata,
  args: string,
  current: string | undefined
): Either.Either<string, DescribeError> => {
  const m = /^(\w+)\s*(.*)$/s.exec(args.trim())
  if (m === null) return Either.left(new DescribeError({ message: "DESCRIBE what? CLUSTER, KEYSPACES, KEYSPACE ks, TABLES, TABLE t, TYPES, TYPE t, SCHEMA" }))
  const word = m[1]!.toLowerCase()
  const rest = m[2]!.trim()
  const keyspaceNamed = (name: string | undefined): Either.Either<Metadata.KeyspaceMetadata, DescribeError> => {
    const ks = name === undefined || name === "" ? current : unquote(name)
    const k = ks === undefined ? undefined : Metadata.keyspace(md, ks)
    return k !== undefined
      ? Either.right(k)
      : Either.left(new DescribeError({ message: ks === undefined ? "no keyspace in use: DESCRIBE KEYSPACE ks" : `keyspace ${ks} not found` }))
  }
  switch (word) {
    case "cluster":
      return Either.right(`Cluster: ${md.clusterName ?? "(unknown)"}\nPartitioner: ${md.partitioner?.replace(/^org\.apache\.cassandra\.dht\./, "") ?? "(unknown)"}\n`)
    case "keyspaces":
      return Either.right(names(md.keyspaces.keys()))
    case "keyspace":
      return Either.map(keyspaceNamed(rest), (k) => `${SchemaExport.exportKeyspace(k)}\n`)
    case "tables":
    case "types": {
      const inKeyspace = (k: Metadata.KeyspaceMetadata) =>
        names(word === "tables" ? k.tables.keys() : k.userTypes.keys())
      if (current !== undefined) return Either.map(keyspaceNamed(current), inKeyspace)
      return Either.right(
        [...md.keyspaces.values()]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((k) => `Keyspace ${SchemaExport.quoteName(k.name)}\n${"-".repeat(k.name.length + 9)}\n${inKeyspace(k) || "\n"}`)
          .join("\n")
      )
    }
    case "schema":
    case "full": {
      if (word === "full" && !/^schema$/i.test(rest)) return describeName(md, args.trim(), current)
      const all = word === "full"
      return Either.right(
        [...md.keyspaces.values()]
          .filter((k) => all || !(k.virtual || k.name.startsWith("system")))
          .map((k) => `${SchemaExport.exportKeyspace(k)}\n`)
          .join("\n")
      )
    }
    case "table":
    case "columnfamily":
      return Either.flatMap(qualified(rest, current), ({ keyspace, name }) => {
        const ks = Metadata.keyspace(md, keyspace)
        const t = ks?.tables.get(name)
        return ks === undefined || t === undefined
          ? Either.left(new DescribeError({ message: `table ${keyspace}.${name} not found` }))
          : Either.right(`${SchemaExport.exportTable(ks, t)}\n`)
      })
    case "type":
      return Either.flatMap(qualified(rest, current), ({ keyspace, name }) => {
        const t = Metadata.keyspace(md, keyspace)?.userTypes.get(name)
        return t === undefined
          ? Either.left(new DescribeError({ message: `type ${keyspace}.${name} not found` }))
          : Either.right(`${SchemaExport.userTypeDdl(t)}\n`)
      })
    default:
      return describeName(md, args.trim(), current)
  }
}

/** A bare name: a keyspace, else a table or a type of that name. */
const describeName = (md: Metadata.Metadata, text: string, current: string | undefined): Either.Either<string, DescribeError> => {
  const k = text.includes(".") ? undefined : Metadata.keyspace(md, unquote(text))
  if (k !== undefined) return Either.right(`${SchemaExport.exportKeyspace(k)}\n`)
  return Either.flatMap(qualified(text, current), ({ keyspace, name }) => {
    const ks = Metadata.keyspace(md, keyspace)
    const t = ks?.tables.get(name)
    if (ks !== undefined && t !== undefined) return Either.right(`${SchemaExport.exportTable(ks, t)}\n`)
    const ut = ks?.userTypes.get(name)
    if (ut !== undefined) return Either.right(`${SchemaExport.userTypeDdl(ut)}\n`)
    return Either.left(new DescribeError({ message: `'${text}' not found in keyspace ${keyspace}` }))
  })
}
