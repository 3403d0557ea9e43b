/**
 * The example server (`npm start`): the example app on the memory store, on HOST:PORT
 * (default 127.0.0.1:3000). Open http://127.0.0.1:3000/ in a browser.
 *
 * For local plain-HTTP use the session cookie's `Secure` flag is turned off (a browser does not send
 * a Secure cookie over http://). Set SESSION_COOKIE_SECURE=true behind HTTPS. Set SESSION_SECRET to
 * a random string of 32 bytes or more; without it a random secret is made at start-up (sessions
 * then do not survive a restart, which the memory store does not offer anyway).
 */
import { HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Encoding, Layer, Option, Redacted } from "effect"
import { HttpSession, SessionStore } from "effect-session"
import { createServer } from "node:http"
import { app } from "./app.js"

const SessionLive = Layer.unwrapEffect(Effect.gen(function*() {
  const secret = yield* Config.option(Config.redacted("SESSION_SECRET"))
  const secure = yield* Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(false))
  if (!secure) {
    yield* Effect.logWarning(
      "session cookie sent without Secure (plain HTTP development); set SESSION_COOKIE_SECURE=true behind HTTPS"
    )
  }
  return HttpSession.layer({
    secrets: [
      Option.getOrElse(
        secret,
        () => Redacted.make(Encoding.encodeBase64Url(crypto.getRandomValues(new Uint8Array(32))))
      )
    ],
    cookie: { secure }
  })
})).pipe(Layer.provide(SessionStore.layerMemory()))

const ServerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  // PORT=0 picks a free port (the tests use it)
  const port = yield* Config.integer("PORT").pipe(
    Config.validate({ message: "PORT must be 0-65535", validation: (p) => p >= 0 && p <= 65535 }),
    Config.withDefault(3000)
  )
  return NodeHttpServer.layer(() => createServer(), { host, port })
}))

HttpServer.serve(app, HttpMiddleware.logger).pipe(
  HttpServer.withLogAddress,
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
