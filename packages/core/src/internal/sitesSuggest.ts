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

/**
 * Keys other tools write in their sites (anaconda-auth's `config.toml`, a copied `.condarc`) and
 * what says the same here: an unknown key of this table gets this advice instead of a guess.
 */
const foreignKeys: ReadonlyMap<string, string> = new Map([
  ["ssl_verify", "anaconda-auth's ssl_verify is tls_verify here (true or false; a CA bundle is ca_file = \"path\")"],
  [
    "proxy_servers",
    "anaconda-auth's proxy_servers (a table by scheme) is proxy here: one URL for every request, " +
      "e.g. proxy = \"http://proxy.example:3128\" (or HTTPS_PROXY and NO_PROXY)"
  ],
  ["preferred_token_storage", "anaconda-auth's preferred_token_storage is storage here (\"keyring\", \"file\" or \"auto\")"],
  ["ssl_cert", "a CA bundle is ca_file = \"path\" here"]
])

/**
 * What to say after "unknown key": advice for a key another tool uses, else "did you mean" the
 * nearest of `candidates`, else the list of `valid` keys (when given).
 *
 * @internal
 */
export const unknownKeyAdvice = (
  key: string,
  candidates: ReadonlyArray<string>,
  valid?: ReadonlyArray<string>
): string | undefined => {
  const foreign = foreignKeys.get(key.toLowerCase())
  if (foreign !== undefined) return foreign
  const suggestion = closest(key, candidates)
  if (suggestion !== undefined) return `did you mean ${suggestion}?`
  return valid === undefined ? undefined : `valid keys: ${valid.join(", ")}`
}
