/** @internal */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"

/** @internal */
export const frames: ReadonlyArray<string> = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/** @internal */
export const frameInterval: Duration.Duration = Duration.millis(100)

/** Erases the line the cursor is on and returns to its start. @internal */
export const clearLine = "\r\x1b[2K"

/**
 * Whether a spinner may be animated: `option` when it is a boolean; for `"auto"`, only on a terminal
 * (`isTTY`) that is not `TERM=dumb`, and not under CI (whose logs keep every `\r` frame).
 *
 * @internal
 */
export const canAnimate = (
  env: Readonly<Record<string, string | undefined>>,
  isTTY: boolean,
  option: boolean | "auto" = "auto"
): boolean => {
  if (option !== "auto") return option
  if (!isTTY) return false
  if (env.TERM === "dumb") return false
  return env.CI === undefined || env.CI === ""
}

/** The text without control characters (C0, DEL, C1). @internal */
export const printable = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ")

/** @internal */
export interface Spinner {
  /**
   * Shows `text` while `self` runs: animated frames redrawn on one line and erased when `self` ends
   * in any way (success, failure, interruption), or the plain line once when not animating.
   */
  readonly around: (text: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * A spinner writing with `write`. `columns` is read at every frame (the terminal may be resized):
 * a frame wider than the terminal would wrap, and `\r` would then redraw only its last row.
 *
 * @internal
 */
export const make = (options: {
  readonly write: (text: string) => Effect.Effect<void>
  readonly animate: boolean
  readonly columns?: (() => number | undefined) | undefined
}): Spinner => {
  const fit = (line: string): string => {
    const columns = options.columns?.()
    if (columns === undefined || columns <= 1) return line
    const chars = Array.from(line)
    return chars.length < columns ? line : chars.slice(0, columns - 2).join("") + "…"
  }
  const around = (raw: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    // A line break would defeat the redraw, an escape sequence from a server would reach the terminal.
    const text = printable(raw)
    if (!options.animate) return Effect.zipRight(options.write(`${text}\n`), self)
    const draw = (index: Ref.Ref<number>) =>
      Effect.flatMap(
        Ref.getAndUpdate(index, (n) => (n + 1) % frames.length),
        (n) => Effect.suspend(() => options.write(`\r${fit(`${frames[n]} ${text}`)}`))
      )
    return Effect.acquireUseRelease(
      // `acquire` runs uninterruptibly and a fork inherits that: the loop must be made interruptible.
      Effect.flatMap(Ref.make(0), (index) =>
        Effect.fork(Effect.interruptible(Effect.repeat(draw(index), Schedule.spaced(frameInterval))))),
      () => self,
      // Stop drawing before erasing: no frame may land after the line is cleared.
      (fiber) => Effect.zipRight(Fiber.interrupt(fiber), options.write(clearLine))
    )
  }
  return { around }
}
