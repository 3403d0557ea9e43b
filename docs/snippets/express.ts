/**
 * docs/from-express-session.md. Type-checked by `npm run check`.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Config, Effect, Layer, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionManager } from "effect-session"
import * as RedisStore from "effect-session/SessionStore/Redis"

// #region config
// app.use(session({
//   secret: [process.env.NEW_SECRET, process.env.OLD_SECRET],
//   name: "sid",
//   cookie: { secure: true, httpOnly: true, sameSite: "strict", domain: "example.com", maxAge: 30 * 60 * 1000 },
//   resave: false, saveUninitialized: false, rolling: true,
//   store: new RedisStore({ client: redis })
// }))
export const SessionLive = HttpSession.layer({
  secrets: [
    Redacted.make("the new secret, 32 bytes or more ......"),
    Redacted.make("the old secret, 32 bytes or more ......")
  ],
  cookie: { name: "sid", secure: true, httpOnly: true, sameSite: "strict", domain: "example.com", persistent: true },
  idleTimeout: "30 minutes", // maxAge + rolling: the deadline moves on every save
  touchInterval: "1 minute" // and on reads, at most once a minute
}).pipe(Layer.provide(RedisStore.layerStoreConfig({ url: Config.redacted("REDIS_URL") })))
// #endregion config

// #region handlers
const Views = Session.key("views", Schema.Number)
const User = Session.key("user", Schema.String)

export const app = HttpRouter.empty.pipe(
  // req.session.views = (req.session.views ?? 0) + 1
  HttpRouter.get(
    "/",
    Effect.map(
      Session.modify(Views, (n) => (n._tag === "Some" ? n.value : 0) + 1),
      (views) => HttpServerResponse.text(`${views} views`)
    )
  ),
  // req.session.regenerate(() => { req.session.user = name; ... })
  HttpRouter.post(
    "/login",
    Effect.as(Effect.zipRight(Session.set(User, "alice"), Session.regenerate), HttpServerResponse.empty())
  ),
  // req.session.destroy(() => ...)
  HttpRouter.post("/logout", Effect.as(Session.destroy, HttpServerResponse.empty())),
  // req.sessionID (redacted: Redacted.value to read it)
  HttpRouter.get(
    "/debug",
    Effect.flatMap(
      SessionManager.SessionManager,
      (manager) =>
        Effect.map(manager.isNew, (isNew) => HttpServerResponse.text(isNew ? "new session" : "known session"))
    )
  ),
  HttpSession.middleware
)
// #endregion handlers
