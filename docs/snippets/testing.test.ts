/**
 * docs/testing.md: a real test file, run by `npm test` (vitest includes docs/snippets/*.test.ts).
 */
// #region workflow
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Option, Schema, TestClock } from "effect"
import { Session, SessionStore } from "effect-session"

const Cart = Session.key("cart", Schema.Array(Schema.String))

// the code under test: one unit of work per call
const addToCart = (sku: string) =>
  Session.modify(Cart, (cart) => [...Option.getOrElse(cart, () => []), sku]).pipe(Session.transaction)

const cartOf = (id: string) => Session.transaction(Session.get(Cart)).pipe(Effect.provide(Session.open(id)))

describe("cart", () => {
  // it.effect runs under TestClock: time moves only when the test says so
  it.effect("keeps what was added, across units of work", () =>
    Effect.gen(function*() {
      yield* addToCart("apple").pipe(Effect.provide(Session.open("alice")))
      yield* addToCart("pear").pipe(Effect.provide(Session.open("alice")))
      expect(yield* cartOf("alice")).toEqual(Option.some(["apple", "pear"]))
      expect(yield* cartOf("bob")).toEqual(Option.none())
    }).pipe(Effect.provide(SessionStore.layerMemory()))) // a fresh memory store per test

  it.effect("a unit that fails leaves the cart as it was", () =>
    Effect.gen(function*() {
      yield* addToCart("apple").pipe(Effect.provide(Session.open("carol")))
      const failing = Effect.zipRight(addToCart("bomb"), Effect.fail("payment declined"))
      yield* Effect.flip(Session.transaction(failing)).pipe(Effect.provide(Session.open("carol")))
      expect(yield* cartOf("carol")).toEqual(Option.some(["apple"]))
    }).pipe(Effect.provide(SessionStore.layerMemory())))

  it.effect("expires after 30 idle minutes, and tells what was lost", () =>
    Effect.gen(function*() {
      yield* addToCart("apple").pipe(Effect.provide(Session.open("dave")))
      yield* TestClock.adjust("31 minutes") // no real waiting
      const { cart, expired } = yield* Effect.gen(function*() {
        return { expired: yield* Session.expired, cart: yield* Session.transaction(Session.get(Cart)) }
      }).pipe(Effect.provide(Session.open("dave")))
      expect(cart).toEqual(Option.none()) // a fresh session
      const timeout = Option.getOrThrow(expired)
      expect(timeout.reason).toBe("Idle")
      expect(HashMap.get(timeout.data, "cart")).toEqual(Option.some(["apple"]))
    }).pipe(Effect.provide(SessionStore.layerMemory())))
})
// #endregion workflow
