/**
 * docs/unit-of-work.md. Type-checked by `npm run check`, run by docs/snippets/guide.test.ts.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Data, Effect, Option, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"

// #region transaction
const Count = Session.key("count", Schema.Number)

// one unit of work: commits when it succeeds
const bump = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1).pipe(Session.transaction)

// a workflow without HTTP: the session is opened by id, on the store in context
export const workflow = Effect.gen(function*() {
  yield* bump
  yield* bump
  return yield* Session.transaction(Session.get(Count)) // Option.some(2)
}).pipe(
  Effect.provide(Session.open("job-42")),
  Effect.provide(SessionStore.layerMemory())
)
// #endregion transaction

// #region discard
class OutOfStock extends Data.TaggedError("OutOfStock")<{}> {}

const reserve = Effect.gen(function*() {
  yield* Session.set("reserved", true)
  return yield* new OutOfStock() // the unit fails: "reserved" is never committed
}).pipe(Session.transaction)

export const discarded = Effect.gen(function*() {
  const error = yield* Effect.flip(reserve) // OutOfStock
  const reserved = yield* Session.transaction(Session.get("reserved")) // Option.none()
  return { error, reserved }
}).pipe(Effect.provide(Session.open("job-43")), Effect.provide(SessionStore.layerMemory()))
// #endregion discard

// #region layer
// the unit as a scoped layer: committed when the scope closes with success; a failed commit is a
// defect here (a finalizer has no typed error channel), so prefer Session.transaction
const Step = Session.key("step", Schema.Number)

export const asLayer = Session.set(Step, 1).pipe(
  Effect.provide(Session.layer),
  Effect.provide(Session.open("job-44")),
  Effect.provide(SessionStore.layerMemory())
)
// #endregion layer

// #region nested
export const nested = Effect.gen(function*() {
  yield* Session.set("a", 1)
  // a nested transaction is a savepoint: rolled back if it fails, kept if it succeeds
  yield* Session.transaction(Effect.zipRight(Session.set("b", 2), Effect.fail("nope" as const))).pipe(
    Effect.catchAll(() => Effect.void)
  )
  yield* Session.transaction(Session.set("c", 3))
  return yield* Session.keys // ["a", "c"]
}).pipe(
  Session.transaction,
  Effect.provide(Session.open("job-45")),
  Effect.provide(SessionStore.layerMemory())
)
// #endregion nested

// #region abort
export const aborted = Effect.gen(function*() {
  yield* Session.set("draft", "...")
  yield* Session.abort // the changes are dropped now
  const refused = yield* Effect.flip(Session.set("draft", "again")) // SessionStateError
  return refused.message // "Session's current state disallows writing"
}).pipe(
  Session.transaction,
  Effect.provide(Session.open("job-46")),
  Effect.provide(SessionStore.layerMemory())
)
// #endregion abort

// #region http
export const app = HttpRouter.empty.pipe(
  // by default the handler is one unit of work: 2xx/3xx commits; an error, a defect, an
  // interruption (the client went away) or a 4xx/5xx response discards
  HttpRouter.post(
    "/cart/:sku",
    Effect.gen(function*() {
      const { sku } = yield* HttpRouter.schemaPathParams(Schema.Struct({ sku: Schema.String }))
      yield* Session.modify("cart", (cart) => [...(Array.isArray(cart) ? cart : []), sku])
      return HttpServerResponse.text("added")
    })
  ),
  // HttpSession.manual: the handler runs its own units, several per request
  HttpRouter.post(
    "/checkout",
    HttpSession.manual(Effect.gen(function*() {
      const cart = yield* Session.transaction(Session.get("cart"))
      // ... charge the card: not in a unit, so nothing is held open meanwhile
      yield* Session.transaction(Effect.zipRight(Session.remove("cart"), Session.set("lastOrder", Date.now())))
      return HttpServerResponse.text(Option.isSome(cart) ? "ordered" : "empty cart")
    }))
  ),
  HttpSession.middleware
)
// #endregion http
