/**
 * A CQL script (a migration file) split into statements at the semicolons that end them. A semicolon inside a
 * string ('it''s; fine'), a quoted identifier ("a;b"), a $$ function body $$ or a comment (-- // and block
 * comments) does not end a statement. Comments stay with the statement they are in; empty statements are dropped.
 */
export const splitStatements = (script: string): Array<string> => {
  const out: Array<string> = []
  let start = 0
  let i = 0
  const n = script.length
  /** Moves past `close`, found from `from`; to the end when it never comes. */
  const skipTo = (close: string, from: number): number => {
    const at = script.indexOf(close, from)
    return at < 0 ? n : at + close.length
  }
  while (i < n) {
    const c = script[i]!
    const two = script.slice(i, i + 2)
    if (c === "'" || c === '"') {
      // A doubled quote escapes it: keep going while the closing quote is followed by another.
      let j = i + 1
      for (;;) {
        j = skipTo(c, j)
        if (j < n && script[j] === c) j++
        else break
      }
      i = j
    } else if (two === "$$") i = skipTo("$$", i + 2)
    else if (two === "--" || two === "//") i = skipTo("\n", i + 2)
    else if (two === "/*") i = skipTo("*/", i + 2)
    else if (c === ";") {
      out.push(script.slice(start, i))
      i++
      start = i
    } else i++
  }
  out.push(script.slice(start))
  return out.map((s) => s.trim()).filter((s) => s.replace(/--[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "").trim() !== "")
}
