/**
 * Handling `SessionTimeout`: a private page that sends a client whose session expired to the login
 * page (302 /login?expired=1) instead of silently treating it as a new visitor.
 *
 * By default an expired session is replaced by a fresh one. `Session.failIfExpired` puts the
 * `SessionTimeout` (old id, redacted; when; why; the expired data) in the error channel, where
 * `Effect.catchTag("SessionTimeout", ...)` turns it into a redirect.
 *
 * Run: SESSION_IDLE_TIMEOUT="10 seconds" npx tsx examples/session-timeout.ts
 *   then open http://127.0.0.1:3000/account, log in, wait 10 seconds, reload.
 *
 * SESSION_IDLE_TIMEOUT: the idle timeout (default "30 minutes"); every visit of /account writes the
 * session (a visit counter), which moves the idle deadline. HOST, PORT: default 127.0.0.1:3000
 * (PORT=0 picks a free port). SESSION_SECRET, SESSION_COOKIE_SECURE: as in the other examples.
 */
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Encoding, Layer, Option, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { createServer } from "node:http"

const User = Session.key("user", Schema.String)
const Visits = Session.key("visits", Schema.Number)

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const loginPage = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const expired = new URL(request.url, "http://x").searchParams.has("expired")
  return HttpServerResponse.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in</title></head>
<body>
${
    expired
      ? "<p id=\"expired\">Your session expired. Please log in again.</p>\n"
      : ""
  }<form method="post" action="/login">
<input name="user" value="alice"><button>Log in</button>
</form>
</body></html>`)
})

const login = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const form = new URLSearchParams(yield* Effect.orElseSucceed(request.text, () => ""))
  const user = form.get("user")?.trim() ?? ""
  if (user.length === 0 || user.length > 64) return HttpServerResponse.text("a user name, please", { status: 400 })
  yield* Session.set(User, user)
  yield* Session.regenerate // a new id on login
  return HttpServerResponse.redirect("/account", { status: 303 })
})

const account = Effect.gen(function*() {
  // the presented session had expired: SessionTimeout in the error channel
  yield* Session.failIfExpired
  const user = yield* Session.get(User)
  if (Option.isNone(user)) return HttpServerResponse.redirect("/login", { status: 302 })
  // a write on every visit: the idle deadline moves (a read alone moves it only every touchInterval)
  const visits = yield* Session.modify(Visits, (n) => Option.getOrElse(n, () => 0) + 1)
  return HttpServerResponse.text(`Hello ${escape(user.value)}, visit ${visits}`)
}).pipe(
  Effect.catchTag("SessionTimeout", (timeout) =>
    Effect.as(
      // what expired and why; never the id (it is Redacted) nor the data
      Effect.logInfo(`session expired (${timeout.reason}): redirecting to the login page`),
      HttpServerResponse.redirect("/login?expired=1", { status: 302 })
    ))
)

const logout = Effect.as(Session.destroy, HttpServerResponse.redirect("/login", { status: 303 }))

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/login", loginPage),
  HttpRouter.post("/login", login),
  HttpRouter.get("/account", account),
  HttpRouter.post("/logout", logout),
  HttpSession.middleware
)

const randomSecret = () => Redacted.make(Encoding.encodeBase64Url(crypto.getRandomValues(new Uint8Array(32))))

const SessionLive = HttpSession.layerConfig({
  secrets: Config.array(Config.redacted("SESSION_SECRET")).pipe(Config.withDefault([randomSecret()])),
  idleTimeout: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault("30 minutes")),
  cookie: Config.all({ secure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(false)) })
}).pipe(Layer.provide(SessionStore.layerMemory()))

// Config.integer, not Config.port: PORT=0 (a free port) is allowed
const ServerLive = NodeHttpServer.layerConfig(createServer, {
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.integer("PORT").pipe(Config.withDefault(3000))
})

HttpServer.serve(app, HttpMiddleware.logger).pipe(
  HttpServer.withLogAddress,
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
