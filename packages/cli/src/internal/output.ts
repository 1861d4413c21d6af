/** @internal */
import * as Console from "effect/Console"
import type * as Effect from "effect/Effect"

/** One JSON document on stdout. @internal */
export const json = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

/** Lines for a person on stdout. @internal */
export const line = (text: string): Effect.Effect<void> => Console.log(text)

/** A remark on stderr that must not mix with a command's output. @internal */
export const note = (text: string): Effect.Effect<void> => Console.error(text)

/** Columns aligned two spaces apart (the last one unpadded), one row a line. @internal */
export const columns = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? []
  return rows
    .map((row) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n")
}

const pad = (n: number): string => String(n).padStart(2, "0")

/** `in 35 min`, `in 2h 5m`, `in 3d 4h`, `4 min ago`. */
const relative = (millis: number): string => {
  const minutes = Math.round(Math.abs(millis) / 60_000)
  const text = minutes < 60
    ? `${minutes} min`
    : minutes < 1440
    ? `${Math.floor(minutes / 60)}h ${minutes % 60}m`
    : `${Math.floor(minutes / 1440)}d ${Math.floor((minutes % 1440) / 60)}h`
  return millis < 0 ? `${text} ago` : `in ${text}`
}

/**
 * A moment for a person: the local time (and the date when it is not today) with the time left,
 * `22:23 (in 35 min)`, `2026-12-03 09:00 (in 1d 10h)`. ISO timestamps are for `--json`.
 *
 * @internal
 */
export const localTime = (atMillis: number, nowMillis: number): string => {
  const at = new Date(atMillis)
  const now = new Date(nowMillis)
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate()
  return `${sameDay ? "" : `${localDay(at)} `}${time} (${relative(atMillis - nowMillis)})`
}

const localDay = (at: Date): string => `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`

/** A past moment for a person, to the minute in local time: `2026-12-02 04:10`. @internal */
export const localMinute = (atMillis: number): string => {
  const at = new Date(atMillis)
  return `${localDay(at)} ${pad(at.getHours())}:${pad(at.getMinutes())}`
}

/** `3m 20s`, `2h 5m`, `expired 4m ago`. @internal */
export const formatRemaining = (millis: number): string => {
  const abs = Math.abs(millis)
  const s = Math.floor(abs / 1000)
  const text = s < 60
    ? `${s}s`
    : s < 3600
    ? `${Math.floor(s / 60)}m ${s % 60}s`
    : s < 86400
    ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
    : `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
  return millis < 0 ? `expired ${text} ago` : text
}
