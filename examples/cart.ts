/**
 * A shopping cart in the session, shared by examples/http-router.ts (HttpRouter) and
 * examples/http-layer-router.ts (HttpLayerRouter): typed keys, and handlers that do not depend on
 * the router flavour. Each handler runs as one unit of work (the session middleware commits it when
 * the response is below 400 and discards it otherwise), so a handler can write first and fail later
 * without leaving half its changes behind: see `checkout`.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Data, Effect, Option, Schema } from "effect"
import { Session } from "effect-session"

// ---------------------------------------------------------------------------------------------
// typed keys: encoded with their schema on set, decoded (and checked) on read
// ---------------------------------------------------------------------------------------------

export const Line = Schema.Struct({
  sku: Schema.String.pipe(Schema.pattern(/^[a-z0-9-]{1,32}$/)),
  qty: Schema.Int.pipe(Schema.between(1, 99))
})
export type Line = typeof Line.Type

export const Order = Schema.Struct({ id: Schema.String, lines: Schema.Array(Line) })
export type Order = typeof Order.Type

export const Cart = Session.key("cart", Schema.Array(Line))
export const Orders = Session.key("orders", Schema.Array(Order))

/** The most distinct lines a cart holds. */
export const MAX_LINES = 5

// ---------------------------------------------------------------------------------------------
// the domain: plain effects on the session, typed errors
// ---------------------------------------------------------------------------------------------

export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{ readonly message: string }> {}
export class CartFull extends Data.TaggedError("CartFull")<{ readonly max: number }> {}
export class EmptyCart extends Data.TaggedError("EmptyCart")<{}> {}
export class PaymentDeclined extends Data.TaggedError("PaymentDeclined")<{}> {}

export const cart = Session.getOrElse(Cart, () => [])

export const addLine = (line: Line) =>
  Effect.gen(function*() {
    const lines = yield* cart
    const existing = lines.find((l) => l.sku === line.sku)
    if (existing === undefined && lines.length >= MAX_LINES) return yield* new CartFull({ max: MAX_LINES })
    const qty = (existing?.qty ?? 0) + line.qty
    if (qty > 99) return yield* new InvalidRequest({ message: "at most 99 of an item" })
    const next = existing === undefined
      ? [...lines, line]
      : lines.map((l) => (l.sku === line.sku ? { sku: l.sku, qty } : l))
    yield* Session.set(Cart, next)
    return next
  })

export const removeLine = (sku: string) =>
  Effect.gen(function*() {
    const next = (yield* cart).filter((l) => l.sku !== sku)
    yield* Session.set(Cart, next)
    return next
  })

/** A stand-in for a payment provider: the card "4000-0000-0000-0002" is declined. */
const charge = (card: string) => card === "4000-0000-0000-0002" ? Effect.fail(new PaymentDeclined()) : Effect.void

/**
 * Checkout writes first (the cart becomes an order) and pays last. When the payment is declined the
 * handler fails, so neither write is saved: the cart is still there and no order was recorded.
 */
export const checkout = (card: string) =>
  Effect.gen(function*() {
    const lines = yield* cart
    if (lines.length === 0) return yield* new EmptyCart()
    const orders = yield* Session.getOrElse(Orders, () => [])
    const order: Order = { id: `order-${orders.length + 1}`, lines }
    yield* Session.set(Orders, [...orders, order])
    yield* Session.remove(Cart)
    yield* charge(card)
    return order
  })

// ---------------------------------------------------------------------------------------------
// handlers: the same for HttpRouter and HttpLayerRouter
// ---------------------------------------------------------------------------------------------

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const body = <A, I>(schema: Schema.Schema<A, I>) =>
  HttpServerRequest.schemaBodyJson(schema).pipe(
    Effect.mapError(() => new InvalidRequest({ message: "invalid body" }))
  )

const badRequest = (e: InvalidRequest) => Effect.succeed(json({ error: e.message }, 400))

export const getCart = Effect.map(cart, (lines) => json({ lines }))

// typed errors become 4xx answers, which also discard the handler's session changes
export const postItem = Effect.gen(function*() {
  const lines = yield* addLine(yield* body(Line))
  return json({ lines }, 201)
}).pipe(Effect.catchTags({
  InvalidRequest: badRequest,
  CartFull: (e) => Effect.succeed(json({ error: `a cart holds at most ${e.max} items` }, 409))
}))

export const deleteItem = (sku: string) => Effect.map(removeLine(sku), (lines) => json({ lines }))

export const postCheckout = Effect.gen(function*() {
  const { card } = yield* body(Schema.Struct({ card: Schema.String }))
  return json(yield* checkout(card), 201)
}).pipe(Effect.catchTags({
  InvalidRequest: badRequest,
  EmptyCart: () => Effect.succeed(json({ error: "the cart is empty" }, 409)),
  PaymentDeclined: () => Effect.succeed(json({ error: "payment declined" }, 402))
}))

export const getOrders = Effect.map(
  Session.get(Orders),
  (orders) => json({ orders: Option.getOrElse(orders, () => []) })
)
