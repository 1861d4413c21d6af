/** @internal */
import * as AuthError from "@effect-auth/core/AuthError"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The exit codes of `effect-auth`, as in the GitHub CLI.
 *
 * @internal
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  authenticationNeeded: 4
} as const

/**
 * A command line that cannot be carried out as given (exit 2).
 *
 * @internal
 */
export class UsageError extends Schema.TaggedError<UsageError>("@effect-auth/cli/UsageError")("UsageError", {
  detail: Schema.String,
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return this.hint === undefined ? this.detail : `${this.detail} ${this.hint}`
  }
}

/**
 * A failure outside authentication (a child that could not start, a file that cannot be
 * written, an API call that failed): exit 1 with the message.
 *
 * @internal
 */
export class CommandError extends Schema.TaggedError<CommandError>("@effect-auth/cli/CommandError")("CommandError", {
  detail: Schema.String,
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return this.hint === undefined ? this.detail : `${this.detail} ${this.hint}`
  }
}

/**
 * Ends the command with `code` and no message: the command already said what it had to
 * (`status` with a site needing a login, `exec` passing on its child's code).
 *
 * @internal
 */
export class Exit extends Schema.TaggedError<Exit>("@effect-auth/cli/Exit")("Exit", { code: Schema.Number }) {}

/** `@effect/cli`'s usage errors, recognised without loading it. */
const isValidationError = (u: unknown): boolean =>
  Predicate.hasProperty(u, Symbol.for("@effect/cli/ValidationError"))

const needsLogin = new Set(["LoginRequired", "TokenExpired", "InvalidCredentials"])

/** @internal */
export const exitCodeOf = (error: unknown): number => {
  if (error instanceof Exit) return error.code
  if (error instanceof UsageError || isValidationError(error)) return ExitCode.usage
  if (AuthError.isAuthError(error)) return needsLogin.has(error._tag) ? ExitCode.authenticationNeeded : ExitCode.error
  return ExitCode.error
}

/** @internal */
export interface Report {
  readonly code: number
  /** The lines for stderr, empty when nothing is to be said. */
  readonly text: string
}

const lines = (detail: string, hint: string | undefined): string =>
  hint === undefined || hint === "" ? `error: ${detail}\n` : `error: ${detail}\nhint: ${hint}\n`

/**
 * The library's hints name its own API; the CLI's user needs the setting and the command. Each
 * rewrite takes the site's name.
 */
const inCliTerms: ReadonlyArray<readonly [RegExp, (site: string) => string]> = [
  [
    /Certificate authentication \(AnaplanAuth\.layerCertificate\) does not expire this way\./,
    (site) =>
      `Certificate authentication does not expire this way: set method = "certificate" with \`effect-auth sites modify ${site} --method certificate --certificate CERT.pem --private-key KEY.pem\`.`
  ]
]

const cliHint = (hint: string | undefined, site: string | undefined): string | undefined =>
  hint === undefined
    ? undefined
    : inCliTerms.reduce((text, [pattern, rewrite]) => text.replace(pattern, rewrite(site ?? "SITE")), hint)

const describeAuthError = (error: AuthError.AuthError): string => {
  const where = error.site ? `[${error.site}] ` : ""
  const full = error.message
  const detail = error._tag === "CredentialStoreError"
    ? `${error.detail} (store: ${error.key === undefined ? error.store : `${error.store}, key "${error.key}"`})`
    : error.detail
  const head = `${where}${detail.endsWith(".") ? detail : `${detail}.`}`
  const hint = error.hint ?? (full.startsWith(head) ? full.slice(head.length).trim() : undefined)
  return lines(`${where}${detail}`, cliHint(hint, error.site))
}

const describe = (error: unknown): string => {
  if (AuthError.isAuthError(error)) return describeAuthError(error)
  if (error instanceof UsageError || error instanceof CommandError) return lines(error.detail, error.hint)
  if (Predicate.isTagged(error, "QuitException")) return lines("Cancelled.", undefined)
  if (error instanceof Error) return lines(error.message, undefined)
  return lines(String(error), undefined)
}

/**
 * What to print and which code to exit with for a failed command. `@effect/cli` already printed
 * its usage errors. Stacks (of defects and failures) only with `--verbose`.
 *
 * @internal
 */
export const report = (cause: Cause.Cause<unknown>, verbose: boolean): Report => {
  if (Cause.isInterruptedOnly(cause)) return { code: 130, text: "" }
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    const code = exitCodeOf(error)
    if (error instanceof Exit || isValidationError(error)) return { code, text: "" }
    const stack = verbose && error instanceof Error && error.stack !== undefined ? `${error.stack}\n` : ""
    return { code, text: describe(error) + stack }
  }
  const defect = Option.getOrUndefined(Cause.dieOption(cause))
  const text = verbose
    ? `error: unexpected failure\n${Cause.pretty(cause)}\n`
    : `${describe(defect)}hint: run again with --verbose for details, and report it if it persists\n`
  return { code: ExitCode.error, text }
}
