/**
 * A unified diff of two versions of the configuration file, secrets masked.
 *
 * @internal
 */
import * as Diff from "diff"
import * as TOML from "smol-toml"
import * as Doc from "./sitesDocument.js"

const secretMask = "\"********\""

/**
 * The lines of `text`, with the values of secret keys masked. A value that differs from the one
 * at the same key in `previous` is marked as changed, so that a changed secret still shows.
 */
const maskedLines = (
  secretFieldNames: ReadonlyArray<string>,
  text: string,
  previous?: ReadonlyMap<string, string>
): { readonly lines: Array<string>; readonly secrets: ReadonlyMap<string, string> } => {
  const secrets = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
  let document: Doc.Document
  try {
    TOML.parse(text)
    document = Doc.scan(text)
  } catch {
    const secret = new RegExp(`^(\\s*(?:[^=#]*\\.)?(?:${secretFieldNames.join("|")})\\s*=\\s*).*$`)
    return { lines: lines.map((line) => line.replace(secret, `$1${secretMask}`)), secrets }
  }
  for (const statement of document.statements) {
    const last = statement.path[statement.path.length - 1]
    if (statement.kind !== "keyValue" || last === undefined || !secretFieldNames.includes(last)) continue
    const first = Doc.lineNumber(text, statement.start) - 1
    const final = Doc.lineNumber(text, statement.valueEnd) - 1
    const key = JSON.stringify(statement.path)
    const value = text.slice(statement.valueStart, statement.valueEnd)
    secrets.set(key, value)
    const changed = previous !== undefined && previous.get(key) !== value
    lines[first] = text.slice(statement.lineStart, statement.valueStart) + secretMask +
      (changed ? "  # (secret changed)" : "")
    for (let index = first + 1; index <= final && index < lines.length; index++) lines[index] = "********"
  }
  return { lines, secrets }
}

/** @internal */
export const diff = (secretFieldNames: ReadonlyArray<string>, before: string, after: string): string => {
  const masked = maskedLines(secretFieldNames, before)
  const a = masked.lines
  const b = maskedLines(secretFieldNames, after, masked.secrets).lines
  if (a.join("\n") === b.join("\n")) return ""
  const patch = Diff.structuredPatch("", "", lines(a), lines(b), undefined, undefined, { context: 3 })
  return patch.hunks.map((hunk) =>
    [
      `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`,
      ...hunk.lines.filter((line) => !line.startsWith("\\"))
    ].join("\n") + "\n"
  ).join("")
}

const lines = (all: ReadonlyArray<string>): string => all.map((line) => `${line}\n`).join("")
