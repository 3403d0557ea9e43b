/**
 * The README's first example: a workflow without HTTP (a unit of work on a session opened by id).
 *
 * Run: npx tsx examples/workflow.ts   (prints 1)
 */
// #region readme
import { Effect, Option, Schema } from "effect"
import { Session, SessionStore } from "effect-session"

const Visits = Session.key("visits", Schema.Number)
const Cart = Session.key("cart", Schema.Array(Schema.String))

const addToCart = (sku: string) =>
  Effect.gen(function*() {
    yield* Session.modify(Visits, (n) => Option.getOrElse(n, () => 0) + 1)
    const cart = yield* Session.getOrElse(Cart, () => [])
    if (cart.length >= 10) return yield* Effect.fail("cart full" as const) // nothing is saved
    yield* Session.set(Cart, [...cart, sku])
    return cart.length + 1
  }).pipe(Session.transaction) // commit on success, discard on failure

const program = addToCart("sku-42").pipe(
  Effect.provide(Session.open("customer-7")), // a session by id, from any workflow
  Effect.provide(SessionStore.layerMemory())
)
Effect.runPromise(program).then(console.log) // 1
// #endregion readme
