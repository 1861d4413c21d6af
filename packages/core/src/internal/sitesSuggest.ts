/**
 * "Did you mean ...?" for keys and values of the configuration.
 *
 * @internal
 */
import leven from "leven"

/** The candidate nearest to `word`, when it is near enough to be a likely typo. @internal */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let distance = Infinity
  for (const candidate of candidates) {
    const d = leven(word.toLowerCase(), candidate)
    if (d < distance) {
      distance = d
      best = candidate
    }
  }
  return best !== undefined && distance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined
}
