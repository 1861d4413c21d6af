/**
 * One line of help for each setting of a site, for the `sites add` and `sites modify` options.
 *
 * @internal
 */
import * as Sites from "@effect-auth/core/Sites"

const descriptions: Partial<Record<string, string>> = {
  provider: `The service: ${Sites.Provider.literals.join(", ")}`,
  method: `How to log in: ${Sites.Method.literals.join(", ")}`,
  auth_url: "Anaplan's authentication service (default https://auth.anaplan.com)",
  api_url: "Anaplan's API (default https://api.anaplan.com)",
  oauth_url: "Anaplan's OAuth service (default https://us1a.app.anaplan.com)",
  issuer: "The OpenID Connect issuer whose discovery document names the endpoints",
  hostname: "The service's host, for presets that need one (a tenant's domain)",
  authorization_url: "The OAuth 2 authorization endpoint (browser login)",
  token_url: "The OAuth 2 token endpoint",
  device_url: "The OAuth 2 device authorization endpoint",
  revocation_url: "The OAuth 2 revocation endpoint, used by logout",
  userinfo_url: "The endpoint whoami asks for the user",
  client_id: "The OAuth 2 client's id",
  scopes: "Scopes to ask for, space- or comma-separated",
  redirect_uri: "The redirect URI registered for the client (a loopback URL)",
  email: "The user to log in as",
  password_file: "A file holding the password (private to you)",
  certificate: "The certificate file (PEM) for method certificate",
  private_key: "The private key file (PEM) for method certificate",
  storage: `Where tokens are kept: ${Sites.StorageKind.literals.join(", ")}`,
  state_dir: "The directory of the file store",
  redis_url: "The Redis server of storage redis",
  redis_prefix: "The prefix of the site's keys in Redis"
}

/** The option's one-line description: what the setting is, and the variable that overrides it. @internal */
export const describe = (field: Sites.FieldName): string =>
  `${descriptions[field] ?? `Sets ${field}`} (${Sites.envVar(field)} overrides it)`

/** The option's value placeholder: URL, FILE, DIR or the setting's name. @internal */
export const placeholder = (field: Sites.FieldName): string =>
  field.endsWith("_url") || field === "issuer" || field === "redirect_uri"
    ? "URL"
    : field.endsWith("_file") || field === "certificate" || field === "private_key"
    ? "FILE"
    : field.endsWith("_dir")
    ? "DIR"
    : field.toUpperCase()
