/**
 * The access token every strategy produces and every consumer spends.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * A credential for an API: the secret value, how to present it and when it stops working.
 *
 * Secrets (`accessToken`, `refreshToken`, `idToken`) are `Redacted`: printing, logging or
 * `JSON.stringify` of a `Token` shows `<redacted>`. Encoding it with `Schema.encode(Token)` yields
 * the plain values, which is what the credential stores write.
 *
 * @since 0.1.0
 * @category models
 */
export class Token extends Schema.Class<Token>("@effect-auth/core/Token")({
  /** The secret that goes into the `Authorization` header. */
  accessToken: Schema.Redacted(Schema.String),
  /** The header scheme: `Bearer`, `AnaplanAuthToken`, ... */
  tokenType: Schema.String,
  /** When the token stops working; `None` means it is valid until invalidated. */
  expiresAt: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  /** The OAuth 2 refresh token, where the service issued one. */
  refreshToken: Schema.optionalWith(Schema.OptionFromNullOr(Schema.Redacted(Schema.String)), {
    default: () => Option.none()
  }),
  /** The scopes granted, as the service reported them. */
  scopes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** The OpenID Connect ID token, where one was issued. */
  idToken: Schema.optionalWith(Schema.OptionFromNullOr(Schema.Redacted(Schema.String)), {
    default: () => Option.none()
  }),
  /** When the token was issued (or received). */
  issuedAt: Schema.DateTimeUtc
}) {
  /**
   * The expiry as epoch milliseconds, `Infinity` for a token without one.
   *
   * @since 0.1.0
   */
  get expiresAtMillis(): number {
    return Option.match(this.expiresAt, { onNone: () => Infinity, onSome: DateTime.toEpochMillis })
  }

  /**
   * Whether the token is still usable at `nowMillis`, keeping `margin` in hand.
   *
   * @since 0.1.0
   */
  isFresh(nowMillis: number, margin: Duration.DurationInput = 0): boolean {
    return nowMillis + Duration.toMillis(margin) < this.expiresAtMillis
  }

  /**
   * The token's lifetime from `issuedAt` to `expiresAt`, if it expires.
   *
   * @since 0.1.0
   */
  get lifetime(): Option.Option<Duration.Duration> {
    return Option.map(this.expiresAt, (at) =>
      Duration.millis(Math.max(0, DateTime.toEpochMillis(at) - DateTime.toEpochMillis(this.issuedAt))))
  }

  /**
   * The `Authorization` header value: `<tokenType> <accessToken>`, still redacted.
   *
   * @since 0.1.0
   */
  get authorizationHeader(): Redacted.Redacted<string> {
    return Redacted.make(`${this.tokenType} ${Redacted.value(this.accessToken)}`)
  }
}

/**
 * Options for {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  readonly accessToken: string | Redacted.Redacted<string>
  readonly tokenType?: string
  readonly issuedAt: DateTime.Utc | number
  /** Either an absolute expiry or a lifetime counted from `issuedAt`; neither means no expiry. */
  readonly expiresAt?: DateTime.Utc | number | undefined
  readonly expiresIn?: Duration.DurationInput | undefined
  readonly refreshToken?: string | Redacted.Redacted<string> | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly idToken?: string | Redacted.Redacted<string> | undefined
}

const redact = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/**
 * Builds a {@link Token} from plain or redacted values; plain strings are redacted at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions): Token => {
  const issuedAt = DateTime.unsafeMake(options.issuedAt)
  const expiresAt = options.expiresAt !== undefined
    ? Option.some(DateTime.unsafeMake(options.expiresAt))
    : options.expiresIn !== undefined
    ? Option.some(DateTime.addDuration(issuedAt, options.expiresIn))
    : Option.none()
  return new Token({
    accessToken: redact(options.accessToken),
    tokenType: options.tokenType ?? "Bearer",
    expiresAt,
    refreshToken: Option.map(Option.fromNullable(options.refreshToken), redact),
    scopes: options.scopes ?? [],
    idToken: Option.map(Option.fromNullable(options.idToken), redact),
    issuedAt
  })
}
