/** @internal */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as AuthError from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import { checkEndpoint, type EndpointSecurity } from "./oauth2ClientAuth.js"
import { optionalString } from "./oauth2Token.js"

// ---------------------------------------------------------------------------------------------
// Server metadata and discovery (RFC 8414, OpenID Connect Discovery 1.0)
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface ServerMetadata {
  readonly issuer?: string | undefined
  readonly authorizationEndpoint?: string | undefined
  readonly tokenEndpoint: string
  readonly deviceAuthorizationEndpoint?: string | undefined
  readonly revocationEndpoint?: string | undefined
  readonly codeChallengeMethodsSupported?: ReadonlyArray<string> | undefined
  readonly scopesSupported?: ReadonlyArray<string> | undefined
}

/** @internal */
export interface RequestContext extends EndpointSecurity {
  readonly site?: string | undefined
  /** The timeout of each request; `AuthResponse.defaultTimeout` when omitted. */
  readonly timeout?: Duration.DurationInput | undefined
}

const MetadataBody = Schema.Struct({
  issuer: Schema.String,
  authorization_endpoint: optionalString,
  token_endpoint: optionalString,
  device_authorization_endpoint: optionalString,
  revocation_endpoint: optionalString,
  code_challenge_methods_supported: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true }),
  scopes_supported: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true })
})

/** @internal */
export type DiscoveryKind = "oidc" | "oauth"

/**
 * The well-known URL: OIDC Discovery section 4 appends `/.well-known/openid-configuration` to the
 * issuer; RFC 8414 section 3.1 inserts `/.well-known/oauth-authorization-server` between the host and
 * the issuer's path.
 *
 * @internal
 */
export const discoveryUrl = (issuer: string, kind: DiscoveryKind): string => {
  const url = new URL(issuer)
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "")
  if (kind === "oidc") {
    url.pathname = `${path}/.well-known/openid-configuration`
  } else {
    url.pathname = `/.well-known/oauth-authorization-server${path}`
  }
  return url.href
}

/** @internal */
export const discoveryRequest = (issuer: string, kind: DiscoveryKind): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.get(discoveryUrl(issuer, kind)).pipe(HttpClientRequest.acceptJson)

/**
 * Decodes a metadata document. The `issuer` it states must be identical to the one it was fetched
 * for: RFC 8414 section 3.3, OIDC Discovery section 4.3.
 *
 * @internal
 */
export const processDiscoveryResponse = (
  issuer: string,
  response: HttpClientResponse.HttpClientResponse,
  context: RequestContext = {}
): Effect.Effect<ServerMetadata, AuthError.AuthError> => {
  const ctx = { site: context.site, operation: "OAuth 2 discovery" }
  if (response.status !== 200) return AuthResponse.statusError(response, ctx)
  return Effect.flatMap(AuthResponse.json(response, MetadataBody, ctx), (body) => {
    if (body.issuer !== issuer) {
      return Effect.fail(
        new AuthError.MalformedResponse({
          site: context.site,
          detail: `OAuth 2 discovery: the metadata names another issuer than ${issuer} (RFC 8414 section 3.3)`,
          hint: "Check the configured issuer URL; it must match the provider's issuer exactly."
        })
      )
    }
    if (body.token_endpoint === undefined) {
      return Effect.fail(
        new AuthError.MalformedResponse({
          site: context.site,
          detail: "OAuth 2 discovery: the metadata has no token_endpoint"
        })
      )
    }
    return Effect.succeed<ServerMetadata>({
      issuer: body.issuer,
      authorizationEndpoint: body.authorization_endpoint,
      tokenEndpoint: body.token_endpoint,
      deviceAuthorizationEndpoint: body.device_authorization_endpoint,
      revocationEndpoint: body.revocation_endpoint,
      codeChallengeMethodsSupported: body.code_challenge_methods_supported,
      scopesSupported: body.scopes_supported
    })
  })
}

/**
 * Fetches the issuer's metadata: OIDC Discovery first, then RFC 8414 when the first answers 404
 * (or only the one asked for).
 *
 * @internal
 */
export const discover = (
  issuer: string,
  options: RequestContext & { readonly kind?: DiscoveryKind | undefined } = {}
): Effect.Effect<ServerMetadata, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) => {
    const fetchKind = (kind: DiscoveryKind): Effect.Effect<ServerMetadata, AuthError.AuthError> =>
      Effect.flatMap(
        AuthResponse.execute(client, discoveryRequest(issuer, kind), {
          site: options.site,
          operation: "OAuth 2 discovery",
          timeout: options.timeout
        }),
        (response): Effect.Effect<ServerMetadata, AuthError.AuthError> =>
          response.status === 404 && options.kind === undefined && kind === "oidc"
            ? fetchKind("oauth")
            : processDiscoveryResponse(issuer, response, options)
      )
    return checkEndpoint("issuer", issuer, options).pipe(
      Effect.zipRight(fetchKind(options.kind ?? "oidc")),
      Effect.tap((metadata) => checkMetadata(metadata, options, "discovered"))
    )
  })

const labels = {
  authorizationEndpoint: ["authorization_url (authorizationEndpoint)", "authorization_endpoint"],
  tokenEndpoint: ["token_url (tokenEndpoint)", "token_endpoint"],
  deviceAuthorizationEndpoint: ["device_url (deviceAuthorizationEndpoint)", "device_authorization_endpoint"],
  revocationEndpoint: ["revocation_url (revocationEndpoint)", "revocation_endpoint"]
} as const

/**
 * Checks every endpoint of `metadata` with {@link checkEndpoint}: `configured` ones are named by their
 * site field and option, `discovered` ones by their RFC 8414 metadata field.
 *
 * @internal
 */
export const checkMetadata = (
  metadata: Partial<ServerMetadata>,
  options: EndpointSecurity,
  source: "configured" | "discovered"
): Effect.Effect<void, AuthError.InvalidConfiguration> =>
  Effect.forEach(
    Object.entries(labels) as ReadonlyArray<[keyof typeof labels, readonly [string, string]]>,
    ([key, [configured, discovered]]) => {
      const url = metadata[key]
      return url === undefined
        ? Effect.void
        : checkEndpoint(source === "configured" ? configured : `the discovered ${discovered}`, url, options)
    },
    { discard: true }
  )
