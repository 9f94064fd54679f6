/**
 * Cutting input into statements. CQL statements end with `;` outside strings ('...', "...", $$...$$) and comments
 * (`--`, `//`, `/* *\/`), and may span lines. The shell's own commands (DESCRIBE, CONSISTENCY, COPY, EXIT...)
 * end at the end of their line, with or without `;`, as in cqlsh.
 */

/** The words that start a shell command rather than CQL. */
export const shellCommandWords = new Set([
  "describe",
  "desc",
  "consistency",
  "serial",
  "paging",
  "expand",
  "tracing",
  "source",
  "show",
  "exit",
  "quit",
  "copy",
  "help"
])

export interface Piece {
  /** The statement without its final `;`, trimmed. */
  readonly text: string
  /** 1-based line where it starts, counted from the start of the input. */
  readonly line: number
}

const firstWord = (s: string): string => /^\s*([A-Za-z]+)/.exec(s)?.[1]?.toLowerCase() ?? ""

/** Whether `text` (the start of a statement) is a shell command, which a line break ends. */
export const isShellCommand = (text: string): boolean => shellCommandWords.has(firstWord(stripComments(text)))

const stripComments = (s: string): string => s.slice(skipBlank(s, 0))

/** Index of the first character after blanks and comments from `i` (an unterminated comment runs to the end). */
const skipBlank = (s: string, i: number): number => {
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++
    const two = s.slice(i, i + 2)
    if (two === "--" || two === "//") {
      const eol = s.indexOf("\n", i)
      if (eol < 0) return s.length
      i = eol + 1
    } else if (two === "/*") {
      const end = s.indexOf("*/", i + 2)
      if (end < 0) return s.length
      i = end + 2
    } else {
      return i
    }
  }
}

/**
 * Complete statements in `input` and what is left over (an unfinished statement, or blank). `final`: the input
 * has ended, so an unfinished statement counts as complete.
 */
export const split = (input: string, final = false): { readonly pieces: ReadonlyArray<Piece>; readonly rest: string } => {
  const pieces: Array<Piece> = []
  // Pieces come in order, so lines are counted once, from the last piece on.
  let counted = 0
  let line = 1
  const lineAt = (i: number) => {
    line += count(input.slice(counted, i), "\n")
    counted = i
    return line
  }
  let start = skipBlank(input, 0)
  while (start < input.length) {
    const end = cqlEnd(input, start, isShellCommand(input.slice(start)))
    if (end === undefined) {
      if (!final) return { pieces, rest: input.slice(start) }
      pieces.push({ text: input.slice(start).trim().replace(/;$/, "").trim(), line: lineAt(start) })
      return { pieces, rest: "" }
    }
    pieces.push({ text: input.slice(start, end.textEnd).trim().replace(/;$/, "").trim(), line: lineAt(start) })
    start = skipBlank(input, end.next)
  }
  return { pieces, rest: "" }
}

const closers: Readonly<Record<string, string>> = { "$$": "$$", "/*": "*/", "--": "\n", "//": "\n" }

/**
 * The `;` that ends the statement starting at `from`, outside strings and comments; a shell command (`atLine`)
 * ends at its line's end too.
 */
const cqlEnd = (s: string, from: number, atLine: boolean): { textEnd: number; next: number } | undefined => {
  let i = from
  while (i < s.length) {
    const c = s[i]!
    if (atLine && c === "\n") return { textEnd: i, next: i + 1 }
    const two = s.slice(i, i + 2)
    if (c === "'" || c === '"') {
      const end = closing(s, i + 1, c)
      if (end < 0) return undefined
      i = end
    } else if (Object.hasOwn(closers, two)) {
      // A $$ body or a comment: skipped whole (a line comment up to its line break).
      const close = closers[two]!
      const end = s.indexOf(close, i + 2)
      if (end < 0) return undefined
      i = close === "\n" ? end : end + 2
    } else if (c === ";") {
      return { textEnd: i, next: i + 1 }
    } else {
      i++
    }
  }
  return undefined
}

/** Index just past the quote that closes a string opened before `from` (a doubled quote is an escaped one). */
const closing = (s: string, from: number, q: string): number => {
  let i = from
  for (;;) {
    const j = s.indexOf(q, i)
    if (j < 0) return -1
    if (s[j + 1] === q) {
      i = j + 2
      continue
    }
    return j + 1
  }
}

const count = (s: string, c: string): number => s.split(c).length - 1
