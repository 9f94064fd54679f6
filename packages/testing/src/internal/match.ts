/**
 * Rule matching shared by the test Session and the stub server: a rule names the query (exact text, RegExp or
 * predicate) and optionally its parameters; the most recently added rule that matches answers, and a rule with
 * `times` is used up after that many answers.
 */

/** Exact query text, a RegExp tested against it, or a predicate. */
export type QueryMatcher = string | RegExp | ((query: string) => boolean)

export const matchesQuery = (m: QueryMatcher, query: string): boolean => {
  if (typeof m === "string") return m === query
  if (typeof m === "function") return m(query)
  // A global or sticky RegExp keeps state between tests; start from the beginning every time.
  m.lastIndex = 0
  return m.test(query)
}

export const describeMatcher = (m: QueryMatcher): string =>
  typeof m === "string" ? JSON.stringify(m) : typeof m === "function" ? "<predicate>" : String(m)

/** What every rule has: a query matcher, an optional use count, and the rest of the rule. */
export interface Matchable {
  readonly query: QueryMatcher
  readonly times?: number
}

/**
 * An ordered set of rules: `find` scans the newest first and counts the use of the rule it returns. Plain data,
 * read and changed synchronously by its owner.
 */
export class RuleBook<R extends Matchable> {
  private entries: Array<{ readonly rule: R; left: number }> = []
  /** Bumped on every change, so that answers computed from the rules can be cached. */
  version = 0

  add(rule: R): void {
    this.entries.push({ rule, left: rule.times ?? Infinity })
    this.version++
  }

  clear(): void {
    this.entries = []
    this.version++
  }

  get rules(): ReadonlyArray<R> {
    return this.entries.map((e) => e.rule)
  }

  /** The newest rule for which `accept` holds; counts one use of it. */
  find(accept: (rule: R) => boolean): R | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!
      if (e.left <= 0 || !accept(e.rule)) continue
      e.left--
      if (e.left <= 0) {
        this.entries.splice(i, 1)
        this.version++
      }
      return e.rule
    }
    return undefined
  }

  /** Like `find` without counting a use (e.g. to answer PREPARE for a rule that answers EXECUTE later). */
  peek(accept: (rule: R) => boolean): R | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!
      if (e.left > 0 && accept(e.rule)) return e.rule
    }
    return undefined
  }
}
