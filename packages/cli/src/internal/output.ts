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
