/**
 * The comment-preserving editor of the configuration file: add, modify and remove sites and set
 * the default, touching only the lines that change, and never writing a file that does not load.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { InvalidConfiguration } from "../AuthError.js"
import type * as Provider from "../Provider.js"
import * as Doc from "./sitesDocument.js"
import * as Fields from "./sitesFields.js"
import { type Config, configError, parse } from "./sitesParse.js"
import { addSiteHint } from "./sitesResolve.js"
import { unknownKeyAdvice } from "./sitesSuggest.js"


/** @internal */
export type EditValue = string | ReadonlyArray<string>

const editLabel = "config.toml"

/** Checks the values to write; scopes may be a list or a space-separated string. */
const checkEdits = (
  registry: Fields.Registry,
  name: string,
  fields: Partial<Record<string, EditValue>>
): Effect.Effect<
  { readonly edits: ReadonlyArray<readonly [string, EditValue]>; readonly cleared: ReadonlyArray<string> },
  InvalidConfiguration
> => {
  const fieldNames = registry.fieldNames
  const errors: Array<string> = []
  const result: Array<readonly [string, EditValue]> = []
  const cleared: Array<string> = []
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    if (!registry.fields.has(key)) {
      const advice = unknownKeyAdvice(key, fieldNames)
      errors.push(`sites.${name}.${key}: unknown key${advice === undefined ? "" : `; ${advice}`}`)
      continue
    }
    const list = registry.fields.get(key)?.kind === "list"
    if (typeof value !== "string" && !list) {
      errors.push(`sites.${name}.${key}: takes one value, not a list`)
      continue
    }
    const checked = Fields.checkValue(registry, key, value)
    if ("error" in checked) {
      errors.push(`sites.${name}.${key}: ${checked.error}`)
      continue
    }
    if (value === "" || (list && typeof value === "string" && checked.value === undefined)) {
      cleared.push(key)
      continue
    }
    result.push([key, list && typeof value === "string" ? value.split(/\s+/).filter((s) => s !== "") : value])
  }
  result.sort((a, b) => fieldNames.indexOf(a[0]) - fieldNames.indexOf(b[0]))
  return errors.length > 0 ?
    Effect.fail(configError(errors.join("\n"), "Correct the values and try again.", name)) :
    Effect.succeed({ edits: result, cleared })
}

const checkName = (name: string) =>
  Fields.isSiteName(name) ?
    Effect.void :
    Effect.fail(configError(
      `${JSON.stringify(name)} is not a valid site name`,
      "Use only letters, digits, \"_\" and \"-\" (for example prod-eu)."
    ))

/** Parses the text to edit: it must be a valid config file already. */
const open = (text: string, providers: ReadonlyArray<Provider.Provider>) =>
  parse(text, editLabel, providers).pipe(
    Effect.map((config) => ({ config, document: Doc.scan(text) })),
    Effect.mapError((error) =>
      configError(
        `The config file cannot be edited while it has errors: ${error.detail}`,
        "Fix those errors by hand first (or move the file away), then try again."
      )
    )
  )

/** Re-parses the result of an edit, so that no edit ever writes a file that does not load. */
const validated = (text: string, providers: ReadonlyArray<Provider.Provider>) =>
  parse(text, editLabel, providers).pipe(
    Effect.as(text),
    Effect.mapError((error) =>
      configError(`The edit would make the config file invalid: ${error.detail}`, "Correct the values and try again.")
    )
  )

const requireSite = (config: Config, name: string) =>
  config.sites.some((site) => site.name === name) ?
    Effect.void :
    Effect.fail(configError(
      `There is no site named ${JSON.stringify(name)}; ${
        config.sites.length === 0 ? "no sites are configured" : `known sites: ${config.sites.map((s) => s.name).join(", ")}`
      }`,
      config.sites.length === 0 ? addSiteHint(Fields.registry(config.providers)) : "Check the name (`effect-auth sites list`)."
    ))

const withNewline = (text: string, newline: string) => text === "" || text.endsWith("\n") ? text : text + newline

/** @internal */
export const addSite = (
  providers: ReadonlyArray<Provider.Provider>,
  text: string,
  name: string,
  fields: Partial<Record<string, EditValue>>
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    yield* checkName(name)
    const { edits } = yield* checkEdits(Fields.registry(providers), name, fields)
    const { config, document } = yield* open(text, providers)
    if (config.sites.some((site) => site.name === name)) {
      return yield* Effect.fail(configError(
        `A site named ${name} already exists`,
        `Change it with \`effect-auth sites modify ${name} ...\`, or pick another name.`,
        name
      ))
    }
    const nl = document.newline
    const block = [`[sites.${name}]`, ...edits.map(([key, value]) => `${key} = ${Doc.formatValue(value)}`)]
      .map((line) => line + nl).join("")
    const base = withNewline(text, nl)
    const separator = base === "" || base.endsWith(`${nl}${nl}`) || base.trim() === "" ? "" : nl
    return yield* validated(base + separator + block, providers)
  })

const siteStatements = (document: Doc.Document, name: string) =>
  document.statements.filter((statement) => Doc.startsWith(statement.path, ["sites", name]))

const notEditable = (name: string) =>
  configError(
    `sites.${name} is written as an inline table, which this command does not rewrite`,
    `Edit the file by hand, or write the site as a [sites.${name}] table first.`,
    name
  )

/** @internal */
export const modifySite = (
  providers: ReadonlyArray<Provider.Provider>,
  text: string,
  name: string,
  set: Partial<Record<string, EditValue>>,
  unsetFields: ReadonlyArray<string> = []
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    yield* checkName(name)
    const registry = Fields.registry(providers)
    const { cleared, edits } = yield* checkEdits(registry, name, set)
    const unset = [...unsetFields, ...cleared]
    const { config, document } = yield* open(text, providers)
    yield* requireSite(config, name)
    const both = edits.filter(([field]) => unset.includes(field)).map(([field]) => field)
    if (both.length > 0) {
      return yield* Effect.fail(configError(
        `${both.join(", ")} cannot be both set and unset`,
        "Pass each field to either set or unset.",
        name
      ))
    }
    const unknown = unset.filter((field) => !registry.fields.has(field))
    if (unknown.length > 0) {
      return yield* Effect.fail(configError(
        `Cannot unset ${unknown.join(", ")}: not a site field`,
        `Valid fields: ${registry.fieldNames.join(", ")}.`,
        name
      ))
    }
    const statements = siteStatements(document, name)
    if (
      statements.some((statement) => statement.kind === "keyValue" && statement.path.length === 2) ||
      !statements.some((statement) => statement.kind === "header" || statement.path.length > 2)
    ) {
      return yield* Effect.fail(notEditable(name))
    }
    const nl = document.newline
    const find = (field: string) =>
      statements.find((statement) => statement.kind === "keyValue" && Doc.samePath(statement.path, ["sites", name, field]))
    const result: Array<Doc.Edit> = []
    const inserts: Array<string> = []
    for (const [field, value] of edits) {
      const existing = find(field)
      if (existing === undefined) inserts.push(field)
      if (existing !== undefined) {
        result.push({ start: existing.valueStart, end: existing.valueEnd, text: Doc.formatValue(value) })
      }
    }
    for (const field of unset) {
      const existing = find(field)
      if (existing !== undefined) result.push({ start: existing.lineStart, end: existing.lineEnd, text: "" })
    }
    if (inserts.length > 0) {
      const header = statements.find((statement) => statement.kind === "header" && statement.path.length === 2)
      const keyValues = statements.filter((statement) =>
        statement.kind === "keyValue" && (header === undefined || statement.start > header.start)
      )
      const anchor = keyValues.length > 0 ? keyValues[keyValues.length - 1] : header
      if (anchor === undefined) return yield* Effect.fail(notEditable(name))
      const prefix = anchor.kind === "keyValue" ? anchor.path.slice(anchor.table.length, 2) : []
      const indent = anchor.kind === "keyValue" ? text.slice(anchor.lineStart, anchor.start) : ""
      const lines = inserts.map((field) => {
        const value = edits.find(([candidate]) => candidate === field)![1]
        return `${indent}${[...prefix, field].map(Doc.formatKey).join(".")} = ${Doc.formatValue(value)}${nl}`
      }).join("")
      const needsNewline = anchor.lineEnd === text.length && !text.endsWith("\n")
      result.push({ start: anchor.lineEnd, end: anchor.lineEnd, text: (needsNewline ? nl : "") + lines })
    }
    return yield* validated(Doc.applyEdits(text, result), providers)
  })

const defaultSiteStatement = (document: Doc.Document) =>
  document.statements.find((statement) =>
    statement.kind === "keyValue" && statement.table.length === 0 && Doc.samePath(statement.path, ["default_site"])
  )

/** @internal */
export const removeSite = (
  providers: ReadonlyArray<Provider.Provider>,
  text: string,
  name: string,
  options: { readonly newDefault?: string | undefined; readonly force?: boolean | undefined } = {}
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    const { config, document } = yield* open(text, providers)
    yield* requireSite(config, name)
    const isDefault = Option.contains(config.defaultSite, name)
    const newDefault = options.newDefault
    if (newDefault !== undefined) {
      if (newDefault === name) {
        return yield* Effect.fail(configError(
          `The new default site cannot be ${name}, the site being removed`,
          "Name another site as the new default.",
          name
        ))
      }
      yield* requireSite(config, newDefault)
    } else if (isDefault && options.force !== true) {
      const others = config.sites.map((site) => site.name).filter((other) => other !== name)
      return yield* Effect.fail(configError(
        `${name} is the default site`,
        `Name a new default (--new-default ${others[0] ?? "NAME"}) or pass --force to remove it and clear default_site.`,
        name
      ))
    }
    const edits: Array<Doc.Edit> = []
    const headers = document.statements.filter((statement) => statement.kind !== "keyValue")
    const removedHeaders = headers.filter((statement) => Doc.startsWith(statement.path, ["sites", name]))
    const sections: Array<readonly [number, number]> = []
    for (const header of removedHeaders) {
      const next = headers.find((candidate) => candidate.start > header.start)
      let start = Doc.attachedStart(text, header.lineStart)
      const end = next === undefined ? text.length : Doc.attachedStart(text, next.lineStart)
      if (end === text.length) start = Doc.blankLinesBefore(text, start)
      sections.push([start, end])
      edits.push({ start, end, text: "" })
    }
    for (const statement of document.statements) {
      if (
        statement.kind === "keyValue" && Doc.startsWith(statement.path, ["sites", name]) &&
        !sections.some(([start, end]) => statement.start >= start && statement.start < end)
      ) {
        edits.push({ start: statement.lineStart, end: statement.lineEnd, text: "" })
      }
    }
    const current = defaultSiteStatement(document)
    if (newDefault !== undefined) {
      edits.push(...setDefaultEdits(text, document, newDefault))
    } else if (isDefault && current !== undefined) {
      edits.push({ start: current.lineStart, end: current.lineEnd, text: "" })
    }
    return yield* validated(Doc.applyEdits(text, edits), providers)
  })

const setDefaultEdits = (text: string, document: Doc.Document, name: string): ReadonlyArray<Doc.Edit> => {
  const current = defaultSiteStatement(document)
  if (current !== undefined) return [{ start: current.valueStart, end: current.valueEnd, text: Doc.quote(name) }]
  const nl = document.newline
  const line = `default_site = ${Doc.quote(name)}${nl}`
  const first = document.statements[0]
  if (first === undefined) {
    const base = withNewline(text, nl)
    return [{ start: 0, end: text.length, text: base + line }]
  }
  const at = Doc.attachedStart(text, first.lineStart)
  return [{ start: at, end: at, text: first.kind === "keyValue" ? line : line + nl }]
}

/** @internal */
export const setDefault = (
  providers: ReadonlyArray<Provider.Provider>,
  text: string,
  name: string
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    const { config, document } = yield* open(text, providers)
    yield* requireSite(config, name)
    return yield* validated(Doc.applyEdits(text, setDefaultEdits(text, document, name)), providers)
  })

