/**
 * Just enough CQL reading for the stub server: the table a statement targets, the column each bind marker is
 * bound to (so PREPARE can describe the markers the way Cassandra does), and simple SELECTs over the virtual
 * system tables (`SELECT cols FROM ks.t [WHERE c = x [AND ...]]`). Anything else is left to the rules.
 */

export type Token =
  | { readonly kind: "ident"; readonly text: string; readonly quoted: boolean }
  | { readonly kind: "string"; readonly text: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "marker"; readonly index: number; readonly name: string | undefined }
  | { readonly kind: "symbol"; readonly text: string }

/** Splits a statement into tokens; undefined when it cannot (an unterminated string or identifier). */
export const tokenize = (query: string): Array<Token> | undefined => {
  const out: Array<Token> = []
  let markers = 0
  let i = 0
  const n = query.length
  while (i < n) {
    const c = query[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === "-" && query[i + 1] === "-") {
      while (i < n && query[i] !== "\n") i++
    } else if (c === "'" || c === '"') {
      // '' and "" escape the quote inside a string or quoted identifier.
      let text = ""
      let j = i + 1
      for (;;) {
        if (j >= n) return undefined
        if (query[j] === c) {
          if (query[j + 1] === c) {
            text += c
            j += 2
            continue
          }
          break
        }
        text += query[j]
        j++
      }
      out.push(c === "'" ? { kind: "string", text } : { kind: "ident", text, quoted: true })
      i = j + 1
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < n && /\w/.test(query[j]!)) j++
      out.push({ kind: "ident", text: query.slice(i, j).toLowerCase(), quoted: false })
      i = j
    } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(query[i + 1] ?? ""))) {
      let j = i + 1
      while (j < n && /[\w.]/.test(query[j]!)) j++
      out.push({ kind: "number", text: query.slice(i, j) })
      i = j
    } else if (c === "?") {
      out.push({ kind: "marker", index: markers++, name: undefined })
      i++
    } else if (c === ":" && /[A-Za-z_]/.test(query[i + 1] ?? "")) {
      let j = i + 2
      while (j < n && /\w/.test(query[j]!)) j++
      out.push({ kind: "marker", index: markers++, name: query.slice(i + 1, j).toLowerCase() })
      i = j
    } else {
      const two = query.slice(i, i + 2)
      const sym = two === "<=" || two === ">=" || two === "!=" ? two : c
      out.push({ kind: "symbol", text: sym })
      i += sym.length
    }
  }
  return out
}

const isWord = (t: Token | undefined, word: string): boolean => t !== undefined && t.kind === "ident" && !t.quoted && t.text === word
const isSymbol = (t: Token | undefined, s: string): boolean => t !== undefined && t.kind === "symbol" && t.text === s
const identText = (t: Token | undefined): string | undefined => (t !== undefined && t.kind === "ident" ? t.text : undefined)

export interface Target {
  readonly keyspace: string | undefined
  readonly table: string
}

/** `ks.t` or `t` starting at token `at`; returns the name and the index after it. */
const qualifiedName = (tokens: ReadonlyArray<Token>, at: number): { target: Target; next: number } | undefined => {
  const first = identText(tokens[at])
  if (first === undefined) return undefined
  if (isSymbol(tokens[at + 1], ".")) {
    const second = identText(tokens[at + 2])
    return second === undefined ? undefined : { target: { keyspace: first, table: second }, next: at + 3 }
  }
  return { target: { keyspace: undefined, table: first }, next: at + 1 }
}

/** The table a SELECT, INSERT, UPDATE or DELETE targets. */
export const targetOf = (tokens: ReadonlyArray<Token>): Target | undefined => {
  if (isWord(tokens[0], "insert") && isWord(tokens[1], "into")) return qualifiedName(tokens, 2)?.target
  if (isWord(tokens[0], "update")) return qualifiedName(tokens, 1)?.target
  if (isWord(tokens[0], "select") || isWord(tokens[0], "delete")) {
    const from = tokens.findIndex((t) => isWord(t, "from"))
    return from < 0 ? undefined : qualifiedName(tokens, from + 1)?.target
  }
  return undefined
}

/** What a bind marker is bound to: a column (`list` for `col IN ?`), or one of Cassandra's named specials. */
export type MarkerBinding =
  | { readonly kind: "column"; readonly column: string; readonly list: boolean }
  | { readonly kind: "special"; readonly name: "[limit]" | "[ttl]" | "[timestamp]" }
  | { readonly kind: "unknown" }

const comparisons = new Set(["=", "<", ">", "<=", ">=", "!=", "+", "-"])

/** One binding per marker, in marker order. */
export const markerBindings = (tokens: ReadonlyArray<Token>): Array<MarkerBinding> => {
  const out: Array<MarkerBinding> = []
  // INSERT INTO t (a, b) VALUES (?, ?): markers map to the column list by position.
  const insertColumns: Array<string> = []
  let valuesOpen = -1
  if (isWord(tokens[0], "insert")) {
    const open = tokens.findIndex((t) => isSymbol(t, "("))
    for (let i = open + 1; open >= 0 && i < tokens.length && !isSymbol(tokens[i], ")"); i++) {
      const name = identText(tokens[i])
      if (name !== undefined) insertColumns.push(name)
    }
    const values = tokens.findIndex((t) => isWord(t, "values"))
    if (values >= 0 && isSymbol(tokens[values + 1], "(")) valuesOpen = values + 1
  }
  let depth = 0
  let position = 0
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (valuesOpen >= 0 && i > valuesOpen) {
      if (isSymbol(t, "(")) depth++
      else if (isSymbol(t, ")")) {
        if (depth === 0) valuesOpen = -1
        else depth--
      } else if (isSymbol(t, ",") && depth === 0) position++
    }
    if (t.kind !== "marker") continue
    if (valuesOpen >= 0 && i > valuesOpen && depth === 0) {
      const column = insertColumns[position]
      out.push(column === undefined ? { kind: "unknown" } : { kind: "column", column, list: false })
      continue
    }
    out.push(bindingBefore(tokens, i))
  }
  return out
}

const bindingBefore = (tokens: ReadonlyArray<Token>, i: number): MarkerBinding => {
  const prev = tokens[i - 1]
  if (isWord(prev, "limit")) return { kind: "special", name: "[limit]" }
  if (isWord(prev, "ttl")) return { kind: "special", name: "[ttl]" }
  if (isWord(prev, "timestamp")) return { kind: "special", name: "[timestamp]" }
  if (prev !== undefined && ((prev.kind === "symbol" && comparisons.has(prev.text)) || isWord(prev, "contains") || isWord(prev, "key"))) {
    // `c = ?`, `c > ?`, `c CONTAINS ?`, `c CONTAINS KEY ?`, `SET c = c + ?` (the column left of the operator)
    let j = i - 2
    while (j >= 0 && (isWord(tokens[j], "contains") || (tokens[j]?.kind === "symbol" && comparisons.has((tokens[j] as { text: string }).text)))) j--
    const column = identText(tokens[j])
    return column === undefined ? { kind: "unknown" } : { kind: "column", column, list: false }
  }
  if (isWord(prev, "in")) {
    const column = identText(tokens[i - 2])
    return column === undefined ? { kind: "unknown" } : { kind: "column", column, list: true }
  }
  if (isSymbol(prev, "(") || isSymbol(prev, ",")) {
    // `c IN (?, ?)`: find the group's opening parenthesis.
    let j = i - 1
    while (j >= 0 && !isSymbol(tokens[j], "(")) j--
    if (isWord(tokens[j - 1], "in")) {
      const column = identText(tokens[j - 2])
      if (column !== undefined) return { kind: "column", column, list: false }
    }
  }
  return { kind: "unknown" }
}

/** A value in a WHERE clause: a literal, or the bind marker at `index`. */
export type Operand = { readonly literal: string } | { readonly marker: number }

export interface Select {
  /** undefined for `*`. */
  readonly columns: ReadonlyArray<string> | undefined
  readonly target: Target
  /** Equality and IN conditions, ANDed. */
  readonly where: ReadonlyArray<{ readonly column: string; readonly values: ReadonlyArray<Operand> }>
}

/** Parses `SELECT * | cols FROM [ks.]t [WHERE c = v|? [AND c IN (v, ...)]...] [LIMIT n] [ALLOW FILTERING]`. */
export const parseSelect = (tokens: ReadonlyArray<Token>): Select | undefined => {
  if (!isWord(tokens[0], "select")) return undefined
  let i = 1
  let columns: Array<string> | undefined
  if (isSymbol(tokens[i], "*")) {
    i++
  } else {
    columns = []
    for (;;) {
      const name = identText(tokens[i])
      if (name === undefined) return undefined
      columns.push(name)
      i++
      if (!isSymbol(tokens[i], ",")) break
      i++
    }
  }
  if (!isWord(tokens[i], "from")) return undefined
  const q = qualifiedName(tokens, i + 1)
  if (q === undefined) return undefined
  i = q.next
  const where: Array<{ column: string; values: Array<Operand> }> = []
  if (isWord(tokens[i], "where")) {
    i++
    for (;;) {
      const column = identText(tokens[i])
      if (column === undefined) return undefined
      i++
      const values: Array<Operand> = []
      if (isSymbol(tokens[i], "=")) {
        const v = operand(tokens[i + 1])
        if (v === undefined) return undefined
        values.push(v)
        i += 2
      } else if (isWord(tokens[i], "in") && isSymbol(tokens[i + 1], "(")) {
        i += 2
        for (;;) {
          const v = operand(tokens[i])
          if (v === undefined) return undefined
          values.push(v)
          i++
          if (isSymbol(tokens[i], ")")) break
          if (!isSymbol(tokens[i], ",")) return undefined
          i++
        }
        i++
      } else {
        return undefined
      }
      where.push({ column, values })
      if (!isWord(tokens[i], "and")) break
      i++
    }
  }
  if (isWord(tokens[i], "limit")) i += 2
  if (isWord(tokens[i], "allow") && isWord(tokens[i + 1], "filtering")) i += 2
  if (isSymbol(tokens[i], ";")) i++
  return i === tokens.length ? { columns, target: q.target, where } : undefined
}

const operand = (t: Token | undefined): Operand | undefined => {
  if (t === undefined) return undefined
  if (t.kind === "marker") return { marker: t.index }
  if (t.kind === "string" || t.kind === "number") return { literal: t.text }
  return undefined
}

/** `USE ks` (quoted or not): the keyspace. */
export const parseUse = (tokens: ReadonlyArray<Token>): string | undefined =>
  isWord(tokens[0], "use") && tokens.length <= 3 && (tokens.length === 2 || isSymbol(tokens[2], ";")) ? identText(tokens[1]) : undefined
