/** One benchmark figure: a ratio (or a count) against a baseline from the same run. */
export interface Result {
  readonly name: string
  readonly figure: string
  readonly detail: string
  readonly goal: string
  readonly met: boolean
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 0 ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid]
}
