/**
 * The seven defects of issue #12 (the unit of work rebuilt around one owner), each reproduced
 * through the public API. Defect 7 (the sealed cookie's read limit) is in test/http.sealed.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Redacted, Schema, TestClock } from "effect"
import { Session, SessionManager, SessionStore } from "effect-session"
import { memoryStoreWith } from "./utils/stores.js"

const Count = Session.key("count", Schema.Number)
const History = Session.key("history", Schema.Array(Schema.String))
const Profile = Session.key("profile", Schema.Struct({ name: Schema.String, roles: Schema.Array(Schema.String) }))

const options = { idleTimeout: "30 minutes", absoluteTimeout: "2 hours" } as const
const memory = SessionStore.layerMemory()

const stored = (id: string) =>
  Effect.flatMap(SessionStore.SessionStore, (store) => store.load(id)).pipe(Effect.map(Option.map((r) => r.data)))

describe("#12 defect 1: a long-lived manager checks expiry at every unit's first touch", () => {
  it.effect("a unit that starts after the idle timeout sees a fresh session, not the cached data", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        yield* Session.transaction(Session.set(Count, 1))
        yield* TestClock.adjust("31 minutes")
        // the same manager (one Session.open around both units): the second unit must not resume
        expect(yield* Session.transaction(Session.get(Count))).toEqual(Option.none())
        const expired = yield* Session.expired
        expect(Option.map(expired, (t) => t.reason)).toEqual(Option.some("Idle"))
      }).pipe(Effect.provide(Session.open("wf-idle", options)))
      // the expired data was not brought back with a new deadline
      expect(yield* stored("wf-idle")).toEqual(Option.none())
    }).pipe(Effect.provide(memory)))

  it.effect("past the absolute lifetime a commit never reports success for a record that has already expired", () =>
    Effect.gen(function*() {
      const seen = yield* Effect.gen(function*() {
        const seen: Array<number> = []
        for (let i = 0; i < 8; i++) {
          // 8 units, 20 minutes apart, on one manager: the last ones run past the 2-hour lifetime
          seen.push(yield* Session.transaction(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)))
          yield* TestClock.adjust("20 minutes")
        }
        return seen
      }).pipe(Effect.provide(Session.open("wf-abs", options)))
      // the count starts again after the lifetime ended (the unit at 2h saw a fresh session)
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 1, 2])
      // and what the last unit wrote is stored and readable (not an already-expired record)
      const record = yield* Effect.flatMap(SessionStore.SessionStore, (s) => s.load("wf-abs"))
      expect(Option.map(record, (r) => r.data)).toEqual(Option.some({ count: 2 }))
      const now = yield* TestClock.currentTimeMillis
      expect(Option.getOrThrow(record).expiresAt).toBeGreaterThan(now)
    }).pipe(Effect.provide(memory)))
})

describe("#12 defect 2: a workflow's chosen id is kept after expiry", () => {
  it.effect("the timeout is reported once, then the fresh session lives under the same id", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("job-7", options)))
      yield* TestClock.adjust("31 minutes")
      yield* Effect.gen(function*() {
        const timeout = yield* Effect.flip(Session.failIfExpired)
        expect(timeout._tag).toBe("SessionTimeout")
        yield* Session.transaction(Session.set(Count, 2))
        const manager = yield* SessionManager.SessionManager
        expect(Redacted.value(yield* manager.id)).toBe("job-7")
      }).pipe(Effect.provide(Session.open("job-7", options)))
      yield* Effect.gen(function*() {
        // the next open of job-7 sees the fresh session's data, and no second timeout
        expect(yield* Session.expired).toEqual(Option.none())
        expect(yield* Session.transaction(Session.get(Count))).toEqual(Option.some(2))
      }).pipe(Effect.provide(Session.open("job-7", options)))
    }).pipe(Effect.provide(memory)))

  it.effect("regenerate in a session opened by id moves it to a new random id, which the manager then tells", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        yield* Session.transaction(Session.set(Count, 1))
        yield* Session.transaction(Session.regenerate)
        const manager = yield* SessionManager.SessionManager
        const id = Redacted.value(yield* manager.id)
        expect(id).not.toBe("job-8")
        // later units of the same manager follow the new id
        yield* Session.transaction(Session.set(Count, 2))
        expect(yield* stored(id)).toEqual(Option.some({ count: 2 }))
      }).pipe(Effect.provide(Session.open("job-8", options)))
      expect(yield* stored("job-8")).toEqual(Option.none())
    }).pipe(Effect.provide(memory)))
})

describe("#12 defect 3: SessionManager.layer and Session.open agree on an unknown id", () => {
  it.effect("an id the store does not hold is adopted only when asked, and both entry points say the same", () =>
    Effect.gen(function*() {
      const idOf = (layer: Layer.Layer<SessionManager.SessionManager, unknown, SessionStore.SessionStore>) =>
        Effect.gen(function*() {
          yield* Session.transaction(Session.set(Count, 1))
          const manager = yield* SessionManager.SessionManager
          return Redacted.value(yield* manager.id)
        }).pipe(Effect.provide(layer))
      expect(yield* idOf(Session.open("chosen-a"))).toBe("chosen-a")
      expect(yield* idOf(SessionManager.layer({ id: "chosen-b", adoptUnknownId: true }))).toBe("chosen-b")
      // a presented id that must not be adopted (a client's): a fresh random one
      expect(yield* idOf(SessionManager.layer({ id: "chosen-c", adoptUnknownId: false }))).not.toBe("chosen-c")
      // @ts-expect-error an id without saying whether it may be adopted does not type-check
      const ambiguous = { id: "x" } satisfies SessionManager.MakeOptions
      expect(ambiguous.id).toBe("x")
    }).pipe(Effect.provide(memory)))
})

describe("#12 defect 4: values read from the session cannot be mutated in silence", () => {
  it.effect("typed values from get, getOrSet and modify are frozen: the seed's setdefault().append throws", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Effect.gen(function*() {
        const history = yield* Session.getOrSet(History, () => [])
        expect(() => (history as Array<string>).push("/foo")).toThrow(TypeError)
        yield* Session.set(Profile, { name: "ann", roles: ["admin"] })
        const profile = yield* Session.get(Profile).pipe(Effect.map(Option.getOrThrow))
        expect(() => (profile.roles as Array<string>).push("root")).toThrow(TypeError)
        expect(() => Object.assign(profile, { name: "bob" })).toThrow(TypeError)
        const modified = yield* Session.modify(History, (h) => [...Option.getOrElse(h, () => []), "/bar"])
        expect(() => (modified as Array<string>).push("/baz")).toThrow(TypeError)
      }))
      expect(yield* stored("frozen")).toEqual(
        Option.some({ history: ["/bar"], profile: { name: "ann", roles: ["admin"] } })
      )
    }).pipe(Effect.provide(Session.open("frozen")), Effect.provide(memory)))
})

describe("#12 defect 6: interruption during a commit", () => {
  it.effect("a commit that has started completes; the caller sees the interruption; the data is stored", () =>
    Effect.gen(function*() {
      const saving = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const slow = memoryStoreWith((store) => ({
        save: (id, record, version) =>
          Effect.zipRight(
            Effect.zipRight(Deferred.succeed(saving, undefined), Deferred.await(proceed)),
            store.save(id, record, version)
          )
      }))
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(Session.transaction(Session.set(Count, 9)))
        yield* Deferred.await(saving)
        const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
        yield* Deferred.succeed(proceed, undefined)
        const exit = yield* Fiber.join(interrupting)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(yield* stored("slow")).toEqual(Option.some({ count: 9 }))
      }).pipe(Effect.provide(Session.open("slow").pipe(Layer.provideMerge(slow))))
    }))
})
