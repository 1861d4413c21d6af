/**
 * Anaplan's OAuth hosts by tenant region (Anaplan's "URL, IP, and allowlist requirements" page, as
 * collected in setikites/anaplan-openapi): most regions share `us1a.app.anaplan.com`.
 *
 * @internal
 */
const shared = "https://us1a.app.anaplan.com"

/** @internal */
export const oauthHosts: Readonly<Record<string, string>> = {
  us1: shared,
  us2: shared,
  us5: shared,
  us7: shared,
  eu1: shared,
  eu2: shared,
  eu4: shared,
  ap1: shared,
  us9: "https://us9.app.anaplan.com",
  eu3: "https://eu3.app.anaplan.com",
  eu5: "https://eu5.app.anaplan.com",
  gb1: "https://gb1.app.anaplan.com",
  au1: "https://au1a.app2.anaplan.com",
  ca1: "https://ca1a.app.anaplan.com",
  sg1: "https://sg1.app.anaplan.com",
  ae1: "https://ae1.app.anaplan.com",
  in1: "https://in1.app.anaplan.com",
  id1: "https://id1.app.anaplan.com",
  me1: "https://me1.app.anaplan.com"
}

/** @internal */
export const knownRegions: ReadonlyArray<string> = Object.keys(oauthHosts)

/**
 * The OAuth host of a region (case-insensitive), or `undefined` for an unknown one.
 *
 * @internal
 */
export const oauthHostOf = (region: string): string | undefined =>
  Object.hasOwn(oauthHosts, region.trim().toLowerCase()) ? oauthHosts[region.trim().toLowerCase()] : undefined
