/**
 * What express-session users look for (issue #15), each against the real memory store: reading the
 * deadline, reads that do not move it, a whole-session schema, and a size limit per session.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Schema, TestClock } from "effect"
import { Session, SessionError, SessionManager, SessionStore } from "effect-session"

const memory = SessionStore.layerMemory()
const open = (id: string, options?: SessionManager.SessionOptions) =>
  Session.open(id, options).pipe(Layer.provideMerge(memory))

const Count = Session.key("count", Schema.Number)

describe("express-session parity", () => {
  it.effect("Session.expiresAt: the deadline of the last committed state (cookie.expires)", () =>
    Effect.gen(function*() {
      // a new session: the deadline it would get now
      expect((yield* Session.expiresAt).getTime()).toBe(30 * 60_000)
      yield* Session.transaction(Session.set(Count, 1))
      expect((yield* Session.expiresAt).getTime()).toBe(30 * 60_000)
      yield* TestClock.adjust("10 minutes")
      yield* Session.transaction(Session.set(Count, 2))
      expect((yield* Session.expiresAt).getTime()).toBe(40 * 60_000)
    }).pipe(Effect.provide(open("deadline", { idleTimeout: "30 minutes" }))))

  it.effect("touchInterval: Duration.infinity: reads never move the idle deadline, saves still do", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const options = { idleTimeout: "30 minutes", touchInterval: Duration.infinity } as const
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("norolling", options)))
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("9 minutes")
        yield* Session.transaction(Session.get(Count)).pipe(Effect.provide(Session.open("norolling", options)))
      }
      expect(Option.map(yield* store.load("norolling"), (r) => [r.version, r.expiresAt])).toEqual(
        Option.some([1, 30 * 60_000])
      )
      // 27 minutes later, a save moves it
      yield* Session.transaction(Session.set(Count, 2)).pipe(Effect.provide(Session.open("norolling", options)))
      expect(Option.map(yield* store.load("norolling"), (r) => r.expiresAt)).toEqual(Option.some(57 * 60_000))
    }).pipe(Effect.provide(memory)))

  it.effect("Session.keysFrom: a whole-session schema (SessionData), each field a typed key", () =>
    Effect.gen(function*() {
      const S = Session.keysFrom(Schema.Struct({ userId: Schema.String, visits: Schema.Number }))
      expect(S.userId.name).toBe("userId")
      yield* Session.transaction(Effect.gen(function*() {
        yield* Session.set(S.userId, "ann")
        yield* Session.modify(S.visits, (n) => Option.getOrElse(n, () => 0) + 1)
      }))
      const [user, visits] = yield* Session.transaction(Effect.all([Session.get(S.userId), Session.get(S.visits)]))
      expect([user, visits]).toEqual([Option.some("ann"), Option.some(1)])
      // a field that does not decode is a SessionDataError naming it
      yield* Session.transaction(Session.set("visits", "many"))
      const error = yield* Effect.flip(Session.transaction(Session.get(S.visits)))
      expect(error._tag === "SessionDataError" && error.key).toBe("visits")
    }).pipe(Effect.provide(open("typed"))))

  it.effect("maxBytes: a write that would pass it is a SessionDataError (TooLarge) and changes nothing", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const result = yield* Effect.gen(function*() {
        yield* Session.set("a", "x".repeat(100))
        // {"a":"xxx…"} is 108 bytes: 200 more characters would pass the limit of 256
        const tooLarge = yield* Effect.flip(Session.set("b", "é".repeat(100)))
        // replacing a value counts its new size only
        yield* Session.set("a", "y".repeat(120))
        yield* Session.remove("a")
        yield* Session.set("b", "z".repeat(200))
        return tooLarge
      }).pipe(Session.transaction)
      expect(result).toBeInstanceOf(SessionError.SessionDataError)
      expect(result._tag === "SessionDataError" && [result.key, result.reason]).toEqual(["b", "TooLarge"])
      expect(result.message).not.toContain("é")
      expect(Option.map(yield* store.load("small"), (r) => Object.keys(r.data))).toEqual(Option.some(["b"]))
    }).pipe(Effect.provide(open("small", { maxBytes: 256 }))))

  it.effect("maxBytes: the default is 256 KiB; a wrong value fails the layer with SessionOptionError", () =>
    Effect.gen(function*() {
      expect(SessionManager.defaults.maxBytes).toBe(262_144)
      const big = yield* Effect.flip(
        Session.transaction(Session.set("blob", "x".repeat(300_000))).pipe(Effect.provide(open("big")))
      )
      expect(big._tag === "SessionDataError" && big.reason).toBe("TooLarge")
      const wrong = yield* Effect.flip(
        Session.transaction(Session.get(Count)).pipe(Effect.provide(open("w", { maxBytes: -1 })))
      )
      expect(wrong._tag === "SessionOptionError" && wrong.option).toBe("maxBytes")
    }))
})

describe("resave: false", () => {
  it.effect("setting a key to the value it already holds is no change: no save", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const List = Session.key("list", Schema.Array(Schema.Number))
      yield* Session.transaction(Effect.zipRight(Session.set(Count, 1), Session.set(List, [1, 2])))
      yield* Session.transaction(Effect.gen(function*() {
        yield* Session.set(Count, 1)
        yield* Session.set(List, [1, 2]) // an equal array, not the same one
        yield* Session.modify(Count, () => 1)
      }))
      expect(Option.map(yield* store.load("same"), (r) => r.version)).toEqual(Option.some(1))
      yield* Session.transaction(Session.set(List, [2, 1]))
      expect(Option.map(yield* store.load("same"), (r) => r.version)).toEqual(Option.some(2))
    }).pipe(Effect.provide(open("same"))))
})

describe("remember me (a per-session lifetime)", () => {
  it.effect("Session.rememberFor: the session's own idle timeout, stored with it, hidden from keys", () =>
    Effect.gen(function*() {
      const options = { idleTimeout: "30 minutes", absoluteTimeout: "8 hours" } as const
      const on = Effect.provide(Session.open("remembered", options))
      yield* Effect.gen(function*() {
        yield* Session.set(Count, 1)
        yield* Session.rememberFor("30 days")
      }).pipe(Session.transaction, on)
      // a remembered session lives at most its lifetime from its creation (its absolute deadline is
      // the longer of the layer's and the lifetime): 30 days however busy, and idle for as long
      expect((yield* Session.expiresAt.pipe(on)).getTime()).toBe(30 * 24 * 60 * 60_000)
      // an hour later (past the layer's 30 minutes idle): still there, the lifetime hidden from keys
      yield* TestClock.adjust("1 hour")
      const seen = yield* Effect.gen(function*() {
        expect(yield* Session.expired).toEqual(Option.none())
        return [yield* Session.transaction(Session.keys), yield* Session.transaction(Session.get(Count))] as const
      }).pipe(on)
      expect(seen).toEqual([["count"], Option.some(1)])
      // and ten days later too (past the layer's 8-hour lifetime)
      yield* TestClock.adjust("10 days")
      expect(yield* Session.transaction(Session.get(Count)).pipe(on)).toEqual(Option.some(1))
      // forgetting it, before the session outlived the layer's lifetime: back to the 30 minutes
      const fresh = Effect.provide(Session.open("fresh", options))
      yield* Session.transaction(Effect.zipRight(Session.set(Count, 5), Session.rememberFor("1 day"))).pipe(fresh)
      yield* TestClock.adjust("2 hours")
      yield* Session.transaction(Session.rememberFor(null)).pipe(fresh)
      yield* TestClock.adjust("31 minutes")
      const expired = yield* Session.expired.pipe(fresh)
      expect(Option.map(expired, (t) => t.reason)).toEqual(Option.some("Idle"))
      // forgetting it after the layer's lifetime has passed: a save would already be expired, so the
      // commit is a conflict and nothing is written (the remembered session stays as it was)
      const late = yield* Effect.flip(Session.transaction(Session.rememberFor(null)).pipe(on))
      expect(late._tag).toBe("SessionConflict")
      expect(yield* Session.transaction(Session.get(Count)).pipe(on)).toEqual(Option.some(1))
    }).pipe(Effect.provide(SessionStore.layerMemory({ sweepInterval: "1 day" }))))

  it.effect("a lifetime that is not positive is refused", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Session.transaction(Session.rememberFor("0 millis")))
      expect(error._tag).toBe("SessionDataError")
    }).pipe(Effect.provide(open("zero"))))
})
