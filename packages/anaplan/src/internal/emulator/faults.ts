/**
 * Fault injection, and the wrapper every endpoint goes through: count the request, then answer the
 * next injected fault instead of the endpoint's normal answer.
 *
 * @internal
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Counters, Fault } from "../../AnaplanAuthServer.js"
import type { State } from "./state.js"
import { json } from "./wire.js"

/**
 * An endpoint's own answer, given the request and the `Clock`'s time.
 *
 * @internal
 */
export type Handler = (
  state: State,
  request: HttpServerRequest.HttpServerRequest,
  now: number
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

const takeFault = (state: State): Fault | undefined => {
  const next = state.faults[0]
  if (next === undefined) return undefined
  next.remaining -= 1
  if (next.remaining <= 0) state.faults.shift()
  return next.fault
}

/**
 * Answers `answer` unless a fault is pending; `success` is the status a `Body` or `Reset` fault
 * pretends by default.
 *
 * @internal
 */
export const faulted = (
  state: State,
  request: HttpServerRequest.HttpServerRequest,
  success: number,
  answer: Effect.Effect<HttpServerResponse.HttpServerResponse>
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.gen(function*() {
    const fault = takeFault(state)
    yield* Effect.logDebug("anaplan emulator request").pipe(
      Effect.annotateLogs({ method: request.method, path: request.url.split("?")[0], fault: fault?._tag ?? "none" })
    )
    if (fault !== undefined) {
      switch (fault._tag) {
        case "Status":
          return json(
            fault.status,
            { status: "FAILURE", statusMessage: `Injected fault: ${fault.status}` },
            fault.retryAfter === undefined ? undefined : { "retry-after": fault.retryAfter }
          )
        case "Body":
          return HttpServerResponse.text(fault.body, {
            status: fault.status ?? success,
            contentType: fault.contentType ?? "application/json"
          })
        case "Hang":
          return yield* Effect.never
        case "Reset": {
          const response = NodeHttpServerRequest.toServerResponse(request)
          response.writeHead(success, { "content-type": "application/json", "content-length": "512" })
          response.write("{\"status\":\"SUCCESS\",\"statusMessage\":\"Login successful\",\"tokenInfo\":{\"expiresAt\":")
          response.socket?.resetAndDestroy()
          return yield* Effect.never
        }
        case "Delay":
          yield* Effect.sleep(fault.delay)
      }
    }
    return yield* answer
  })

/**
 * A route's handler: counts the request under `counter`, then answers a pending fault or `handle`.
 *
 * @internal
 */
export const endpoint = (state: State, counter: keyof Counters, success: number, handle: Handler) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    state.counters[counter] += 1
    return faulted(state, request, success, Effect.flatMap(Clock.currentTimeMillis, (now) => handle(state, request, now)))
  })
