/**
 * System programs the tests start (redis-server, gnome-keyring-daemon, dbus-run-session). Under
 * `CI=true` a missing one fails the run; locally the tests that need it are skipped with a message
 * naming the Debian package to install.
 */
import { execFileSync } from "node:child_process"

export interface Program {
  readonly name: string
  readonly path: string | undefined
  readonly available: boolean
  /** Why the tests that need it cannot run, and what to install. */
  readonly missing: string
}

export const find = (name: string, debianPackage: string): Program => {
  let path: string | undefined
  try {
    path = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined
  } catch {
    path = undefined
  }
  return {
    name,
    path,
    available: path !== undefined,
    missing: `${name} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`
  }
}

export const isCI = process.env.CI === "true"

/**
 * Whether tests needing `programs` should run. When one is missing: under CI returns `true` so
 * that they run and fail naming it; locally prints why and returns `false`.
 */
export const shouldRun = (...programs: ReadonlyArray<Program>): boolean => {
  const missing = programs.filter((p) => !p.available)
  if (missing.length === 0) return true
  if (isCI) return true
  // eslint-disable-next-line no-console
  console.warn(`skipping: ${missing.map((p) => p.missing).join("; ")}`)
  return false
}

/** Throws naming the missing program (for CI, where a missing component fails the run). */
export const ensure = (...programs: ReadonlyArray<Program>): void => {
  const missing = programs.filter((p) => !p.available)
  if (missing.length > 0) throw new Error(missing.map((p) => p.missing).join("; "))
}
