/**
 * CSV (RFC 4180) as COPY and `--output csv` use it: fields separated by a delimiter, quoted with `"` when they
 * hold the delimiter, a quote, a line break or leading/trailing space, quotes doubled inside. Null is an empty
 * unquoted field and the empty string a quoted one (`""`), so the two survive a round trip.
 *
 * The reader is incremental: it takes the file a chunk at a time and hands back whole records with the line each
 * starts on (a quoted field may span lines) and their original text, for the error file of COPY FROM. It keeps
 * only the unfinished record between chunks, so memory does not grow with the file.
 */

export interface Field {
  readonly text: string
  readonly quoted: boolean
}

export interface CsvRecord {
  /** 1-based line the record starts on. */
  readonly line: number
  readonly fields: ReadonlyArray<Field>
  /** The record as it appeared in the file, without its line break. */
  readonly raw: string
}

/** One field's text, quoted when needed; `null` is the empty unquoted field. */
export const formatField = (value: string | null, delimiter = ","): string => {
  if (value === null) return ""
  if (value === "" || value.includes(delimiter) || /["\r\n]/.test(value) || /^\s|\s$/.test(value)) {
    return `"${value.replaceAll('"', '""')}"`
  }
  return value
}

export const formatRecord = (values: ReadonlyArray<string | null>, delimiter = ","): string =>
  values.map((v) => formatField(v, delimiter)).join(delimiter)

export class CsvReader {
  private buffer = ""
  /** Line number of the first character of `buffer`. */
  private line = 1

  constructor(private readonly delimiter = ",") {}

  /** The records completed by this chunk. */
  push(chunk: string): Array<CsvRecord> {
    this.buffer += chunk
    return this.drain(false)
  }

  /** The last record, when the file does not end with a line break. */
  end(): Array<CsvRecord> {
    return this.drain(true)
  }

  private drain(atEnd: boolean): Array<CsvRecord> {
    const out: Array<CsvRecord> = []
    let start = 0
    for (;;) {
      const r = this.scan(start, atEnd)
      if (r === undefined) break
      if (!(r.fields.length === 1 && r.fields[0]!.text === "" && !r.fields[0]!.quoted)) {
        out.push({ line: this.line, fields: r.fields, raw: this.buffer.slice(start, r.rawEnd) })
      }
      this.line += r.lines
      start = r.next
      if (start >= this.buffer.length) break
    }
    this.buffer = this.buffer.slice(start)
    return out
  }

  /** One record from `start`, or undefined when the buffer ends inside it (unless at the end of the input). */
  private scan(start: number, atEnd: boolean):
    | { fields: Array<Field>; rawEnd: number; next: number; lines: number }
    | undefined {
    const b = this.buffer
    if (start >= b.length) return undefined
    const fields: Array<Field> = []
    let i = start
    let lines = 1
    for (;;) {
      if (b[i] === '"') {
        let text = ""
        let j = i + 1
        for (;;) {
          const q = b.indexOf('"', j)
          if (q < 0) {
            if (!atEnd) return undefined
            // An unterminated quote at the end of the input: keep what there is.
            text += b.slice(j)
            j = b.length
            break
          }
          text += b.slice(j, q)
          if (b[q + 1] === '"') {
            text += '"'
            j = q + 2
            continue
          }
          j = q + 1
          break
        }
        for (const c of text) if (c === "\n") lines++
        // Text after the closing quote, up to the delimiter, is kept (lenient, as most readers are).
        let k = j
        while (k < b.length && b[k] !== this.delimiter && b[k] !== "\n" && b[k] !== "\r") k++
        if (k >= b.length && !atEnd) return undefined
        fields.push({ text: text + b.slice(j, k), quoted: true })
        i = k
      } else {
        let k = i
        while (k < b.length && b[k] !== this.delimiter && b[k] !== "\n" && b[k] !== "\r") k++
        if (k >= b.length && !atEnd) return undefined
        fields.push({ text: b.slice(i, k), quoted: false })
        i = k
      }
      if (b[i] === this.delimiter) {
        i++
        continue
      }
      const rawEnd = i
      if (b[i] === "\r" && i + 1 >= b.length && !atEnd) return undefined
      if (b[i] === "\r") i++
      if (b[i] === "\n") i++
      return { fields, rawEnd, next: i, lines }
    }
  }
}
