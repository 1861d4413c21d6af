/**
 * Serves the web app (from the repository root):
 * `node --conditions=source --import tsx examples/web-login/main.ts` with `ANAPLAN_CLIENT_ID`,
 * `ANAPLAN_CLIENT_SECRET`, `ANAPLAN_REDIRECT_URI` and `SESSION_SECRET` set (see README.md).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import * as WebApp from "./src/WebApp.js"

const listen = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      port: Config.withDefault(Config.port("PORT"), 3000),
      host: Config.withDefault(Config.string("HOST"), "127.0.0.1")
    }),
    ({ host, port }) => NodeHttpServer.layer(() => createServer(), { port, host })
  )
)

HttpServer.serve(WebApp.router).pipe(
  HttpServer.withLogAddress,
  Layer.provide(Layer.provideMerge(WebApp.layer, NodeHttpClient.layerUndici)),
  Layer.provide(listen),
  Layer.launch,
  NodeRuntime.runMain
)
