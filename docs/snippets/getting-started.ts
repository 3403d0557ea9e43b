/**
 * docs/getting-started.md, step 2: a counter with HttpRouter.
 * Type-checked by `npm run check`, run by docs/snippets/getting-started.test.ts.
 */
// #region router
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Option, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { createServer } from "node:http"

// a typed key: its value is checked with the schema when it is written and when it is read
const Count = Session.key("count", Schema.Number)

const app = HttpRouter.empty.pipe(
  // reads only: no store write, and no cookie for a visitor who never wrote
  HttpRouter.get("/counter", Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(`${n}`))),
  // the handler is one unit of work: committed when it succeeds, discarded when it fails
  HttpRouter.post(
    "/counter",
    Effect.gen(function*() {
      const n = yield* Session.modify(Count, (current) => Option.getOrElse(current, () => 0) + 1)
      return HttpServerResponse.text(`${n}`)
    })
  ),
  // apply the middleware to the router itself (not to HttpServer.serve)
  HttpSession.middleware
)

const SessionLive = HttpSession.layerConfig({
  // 32 bytes or more; several (comma-separated) to rotate keys: the first signs, all verify
  secrets: Config.array(Config.redacted("SESSION_SECRET")),
  // Secure is on by default; turn it off for plain-HTTP development only
  cookie: Config.all({ secure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true)) })
}).pipe(Layer.provide(SessionStore.layerMemory()))

const ServerLive = NodeHttpServer.layerConfig(createServer, {
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.integer("PORT").pipe(Config.withDefault(3000))
})

HttpServer.serve(app).pipe(
  HttpServer.withLogAddress,
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
// #endregion router
