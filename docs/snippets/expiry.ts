/**
 * docs/expiry.md. Type-checked by `npm run check`, run by docs/snippets/guide.test.ts.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, HashMap, Layer, Option, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"

// #region options
export const SessionLive = HttpSession.layer({
  secrets: [Redacted.make("change me: a random secret of 32 bytes or more")],
  idleTimeout: "30 minutes", // expires when not saved for this long (default 30 minutes)
  absoluteTimeout: "8 hours", // and this long after it was created, however busy (default 8 hours)
  touchInterval: "1 minute" // a read-only request saves (moves the idle deadline) at most this often
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion options

// #region redirect
const User = Session.key("user", Schema.String)

// a page for logged-in users: an expired session sends the browser to the login page, saying why
export const account = Effect.gen(function*() {
  yield* Session.failIfExpired // fails with SessionTimeout when the presented session had expired
  const user = yield* Session.get(User)
  return Option.match(user, {
    onNone: () => HttpServerResponse.redirect("/login", { status: 303 }),
    onSome: (name) => HttpServerResponse.text(`Hello ${name}`)
  })
}).pipe(
  Effect.catchTag(
    "SessionTimeout",
    (timeout) => Effect.succeed(HttpServerResponse.redirect(`/login?expired=${timeout.reason}`, { status: 303 }))
  )
)

export const app = HttpRouter.empty.pipe(HttpRouter.get("/account", account), HttpSession.middleware)
// #endregion redirect

// #region value
// or read it as a value, e.g. to carry a cart over into the fresh session
const Cart = Session.key("cart", Schema.Array(Schema.String))

export const restoreCart = Effect.gen(function*() {
  const expired = yield* Session.expired // Option<SessionTimeout>
  if (Option.isSome(expired)) {
    // the expired data, in stored form (JSON values)
    const old = HashMap.get(expired.value.data, "cart")
    if (Option.isSome(old) && Array.isArray(old.value)) {
      yield* Session.set(Cart, old.value.filter((x): x is string => typeof x === "string"))
    }
  }
})
// #endregion value
