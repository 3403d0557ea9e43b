/**
 * docs/getting-started.md, step 3: log in, log out and a protected group in an HttpApi app.
 * Type-checked by `npm run check`, run by docs/snippets/getting-started.test.ts.
 */
// #region api
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Option, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { createServer } from "node:http"

const User = Session.key("user", Schema.String)

// HttpSession.ApiSession gives every handler of a group its unit of work (the Session); the
// declared SessionUnavailable (503) is the answer when the session store fails
class Account extends HttpApiGroup.make("account")
  .add(HttpApiEndpoint.post("login", "/login").setPayload(Schema.Struct({ user: Schema.String })))
  .add(HttpApiEndpoint.post("logout", "/logout"))
  .addError(HttpSession.SessionUnavailable)
  .middleware(HttpSession.ApiSession)
{}

class Private extends HttpApiGroup.make("private")
  .add(HttpApiEndpoint.get("me", "/me").addSuccess(Schema.String))
  .addError(HttpApiError.Unauthorized)
  .addError(HttpSession.SessionUnavailable)
  .middleware(HttpSession.ApiSession)
{}

class Api extends HttpApi.make("app").add(Account).add(Private) {}

const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    // log in: a new session id (session fixation defence), the data kept
    // (orUnavailable: a failed store answers the declared SessionUnavailable, 503)
    .handle("login", ({ payload }) =>
      Effect.zipRight(Session.set(User, payload.user), Session.regenerate).pipe(HttpSession.orUnavailable))
    // log out: the stored session is deleted and the cookie expired
    .handle("logout", () =>
      HttpSession.orUnavailable(Session.destroy)))

const PrivateLive = HttpApiBuilder.group(Api, "private", (handlers) =>
  handlers.handle("me", () =>
    Effect.flatMap(
      HttpSession.orUnavailable(Session.get(User)),
      Option.match({
        onNone: () => Effect.fail(new HttpApiError.Unauthorized()),
        onSome: Effect.succeed
      })
    )))

const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([AccountLive, PrivateLive]),
  // the ApiSession middleware, and the wrapper that commits or discards each request's unit
  Layer.provide(HttpSession.layerApi)
)

const SessionLive = HttpSession.layerConfig({
  secrets: Config.array(Config.redacted("SESSION_SECRET")),
  cookie: Config.all({ secure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true)) })
}).pipe(Layer.provide(SessionStore.layerMemory()))

const ServerLive = NodeHttpServer.layerConfig(createServer, {
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.integer("PORT").pipe(Config.withDefault(3000))
})

HttpApiBuilder.serve().pipe(
  HttpServer.withLogAddress,
  Layer.provide(ApiLive),
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
// #endregion api
