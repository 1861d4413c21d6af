/**
 * The layout of a TOML document that smol-toml has already accepted: where each table header and
 * key/value statement starts and ends, so that edits touch only the lines they change and keep
 * every comment, blank line and key order of the user's file.
 *
 * @internal
 */
import * as TOML from "smol-toml"

/** @internal */
export interface Statement {
  readonly kind: "header" | "arrayHeader" | "keyValue"
  /** The table the statement belongs to (for a header: the table it opens). */
  readonly table: ReadonlyArray<string>
  /** The full key path from the document root. */
  readonly path: ReadonlyArray<string>
  /** The key path as written in the statement (relative to `table` for a key/value). */
  readonly key: ReadonlyArray<string>
  /** Offset of the start of the statement's first line. */
  readonly lineStart: number
  /** Offset of the statement's first character (after indentation). */
  readonly start: number
  /** Offsets of the value (key/value statements; for headers the closing bracket). */
  readonly valueStart: number
  readonly valueEnd: number
  /** Offset just after the newline that ends the statement's last line, or the text's length. */
  readonly lineEnd: number
}

/** @internal */
export interface Document {
  readonly text: string
  readonly statements: ReadonlyArray<Statement>
  readonly newline: string
}

const isBare = (c: string) => /[A-Za-z0-9_-]/.test(c)

const decodeBasic = (raw: string): string => {
  const parsed = TOML.parse(`k = ${raw}`)
  return typeof parsed.k === "string" ? parsed.k : raw
}

/**
 * Scans `text`, which must be valid TOML (callers parse it with smol-toml first).
 *
 * @internal
 */
export const scan = (text: string): Document => {
  const n = text.length
  const statements: Array<Statement> = []
  let i = 0
  let table: ReadonlyArray<string> = []

  const skipSpaces = () => {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++
  }
  const toLineEnd = () => {
    skipSpaces()
    if (text[i] === "#") while (i < n && text[i] !== "\n") i++
    while (i < n && text[i] !== "\n") i++
    if (i < n) i++
    return i
  }
  const readKey = (): Array<string> => {
    const parts: Array<string> = []
    for (;;) {
      skipSpaces()
      const c = text[i]
      if (c === "\"") {
        const from = i
        i++
        while (i < n && text[i] !== "\"") i += text[i] === "\\" ? 2 : 1
        i++
        parts.push(decodeBasic(text.slice(from, i)))
      } else if (c === "'") {
        const from = ++i
        while (i < n && text[i] !== "'") i++
        parts.push(text.slice(from, i))
        i++
      } else {
        const from = i
        while (i < n && isBare(text[i])) i++
        parts.push(text.slice(from, i))
      }
      skipSpaces()
      if (text[i] === ".") {
        i++
        continue
      }
      return parts
    }
  }
  const skipString = () => {
    const c = text[i]
    if (text.startsWith(c.repeat(3), i)) {
      i += 3
      while (i < n) {
        if (c === "\"" && text[i] === "\\") {
          i += 2
          continue
        }
        if (text[i] === c && text.startsWith(c.repeat(3), i)) {
          let run = 0
          while (text[i + run] === c && run < 5) run++
          i += run
          return
        }
        i++
      }
      return
    }
    i++
    while (i < n && text[i] !== c && text[i] !== "\n") i += c === "\"" && text[i] === "\\" ? 2 : 1
    i++
  }
  const skipValue = (): number => {
    const c = text[i]
    if (c === "\"" || c === "'") {
      skipString()
      return i
    }
    if (c === "[" || c === "{") {
      let depth = 0
      while (i < n) {
        const d = text[i]
        if (d === "\"" || d === "'") {
          skipString()
          continue
        }
        if (d === "#") {
          while (i < n && text[i] !== "\n") i++
          continue
        }
        if (d === "[" || d === "{") depth++
        if (d === "]" || d === "}") {
          depth--
          if (depth === 0) {
            i++
            return i
          }
        }
        i++
      }
      return i
    }
    while (i < n && text[i] !== "\n" && text[i] !== "#") i++
    let end = i
    while (end > 0 && /[ \t\r]/.test(text[end - 1])) end--
    return end
  }

  let lineStart = 0
  while (i < n) {
    skipSpaces()
    if (i >= n) break
    const c = text[i]
    if (c === "\n" || c === "\r") {
      i++
      lineStart = i
      continue
    }
    if (c === "#") {
      toLineEnd()
      lineStart = i
      continue
    }
    const start = i
    if (c === "[") {
      const array = text[i + 1] === "["
      i += array ? 2 : 1
      const path = readKey()
      const valueStart = i
      i += array ? 2 : 1
      const valueEnd = i
      const end = toLineEnd()
      table = path
      statements.push({
        kind: array ? "arrayHeader" : "header",
        table: path,
        path,
        key: path,
        lineStart,
        start,
        valueStart,
        valueEnd,
        lineEnd: end
      })
    } else {
      const key = readKey()
      skipSpaces()
      i++ // "="
      skipSpaces()
      const valueStart = i
      const valueEnd = skipValue()
      i = valueEnd
      const end = toLineEnd()
      statements.push({
        kind: "keyValue",
        table,
        path: [...table, ...key],
        key,
        lineStart,
        start,
        valueStart,
        valueEnd,
        lineEnd: end
      })
    }
    lineStart = i
  }
  return { text, statements, newline: text.includes("\r\n") ? "\r\n" : "\n" }
}

/** @internal */
export const startsWith = (path: ReadonlyArray<string>, prefix: ReadonlyArray<string>): boolean =>
  path.length >= prefix.length && prefix.every((part, index) => path[index] === part)

/** @internal */
export const samePath = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && startsWith(a, b)

/**
 * The 1-based line of the statement that defines `path`, or of the nearest enclosing one.
 *
 * @internal
 */
export const lineOf = (document: Document, path: ReadonlyArray<string>): number | undefined => {
  let best: Statement | undefined
  for (const statement of document.statements) {
    if (statement.kind === "arrayHeader") continue
    if (startsWith(path, statement.path) && (best === undefined || statement.path.length > best.path.length)) {
      best = statement
    }
  }
  if (best === undefined) {
    // A table only its sub-tables define (`[site.prod]` for `site`): point at the first of them.
    best = document.statements.find((statement) => startsWith(statement.path, path))
  }
  return best === undefined ? undefined : lineNumber(document.text, best.start)
}

/** @internal */
export const lineNumber = (text: string, offset: number): number => {
  let line = 1
  for (let index = 0; index < offset && index < text.length; index++) if (text[index] === "\n") line++
  return line
}

/** The start of the line containing `offset`. */
const startOfLine = (text: string, offset: number): number => {
  // `lastIndexOf` reads a negative position as 0, so offset 0 would find a newline at 0 itself.
  if (offset <= 0) return 0
  const index = text.lastIndexOf("\n", offset - 1)
  return index === -1 ? 0 : index + 1
}

const isCommentLine = (line: string) => /^[ \t]*#/.test(line)

/**
 * The start of the comment lines directly above `lineStart` (no blank line between): they
 * describe the statement that follows them.
 *
 * @internal
 */
export const attachedStart = (text: string, lineStart: number): number => {
  let start = lineStart
  while (start > 0) {
    const previous = startOfLine(text, start - 1)
    if (!isCommentLine(text.slice(previous, start))) break
    start = previous
  }
  return start
}

/**
 * Moves `start` back over the blank lines directly above it.
 *
 * @internal
 */
export const blankLinesBefore = (text: string, start: number): number => {
  let result = start
  while (result > 0) {
    const previous = startOfLine(text, result - 1)
    if (text.slice(previous, result).trim() !== "") break
    result = previous
  }
  return result
}

/** @internal */
export interface Edit {
  readonly start: number
  readonly end: number
  readonly text: string
}

/**
 * Applies non-overlapping edits (insertions at the same offset keep their order).
 *
 * @internal
 */
export const applyEdits = (text: string, edits: ReadonlyArray<Edit>): string => {
  const sorted = edits
    .map((edit, index) => ({ edit, index }))
    .sort((a, b) => a.edit.start - b.edit.start || a.index - b.index)
  let result = ""
  let position = 0
  for (const { edit } of sorted) {
    if (edit.start < position) continue
    result += text.slice(position, edit.start) + edit.text
    position = edit.end
  }
  return result + text.slice(position)
}

/**
 * A TOML basic string: quotes, backslashes and control characters escaped, everything else
 * (unicode included) kept as is.
 *
 * @internal
 */
export const quote = (value: string): string => {
  let result = "\""
  for (const char of value) {
    const code = char.codePointAt(0)!
    if (char === "\"") result += "\\\""
    else if (char === "\\") result += "\\\\"
    else if (char === "\n") result += "\\n"
    else if (char === "\r") result += "\\r"
    else if (char === "\t") result += "\\t"
    else if (char === "\b") result += "\\b"
    else if (char === "\f") result += "\\f"
    else if (code < 0x20 || code === 0x7f) result += `\\u${code.toString(16).padStart(4, "0")}`
    else result += char
  }
  return `${result}"`
}

/** @internal */
export const formatKey = (key: string): string => /^[A-Za-z0-9_-]+$/.test(key) ? key : quote(key)

/** @internal */
export const formatValue = (value: string | ReadonlyArray<string>): string =>
  typeof value === "string" ? quote(value) : `[${value.map(quote).join(", ")}]`
