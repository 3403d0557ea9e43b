import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Schema, TestClock } from "effect"
import type { SessionManager } from "effect-session"
import { HttpSession, Session, SessionStore } from "effect-session"
import * as Locks from "../src/internal/locks.js"
import { client, serve, sessionLayer } from "./utils/http.js"

const Count = Session.key("count", Schema.Number)
const increment = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)

/**
 * Two "processes" on one shared store: each wrapper is a distinct store object, so each has its own
 * in-process lock table, while the data is shared — exactly what two app instances on one Redis see.
 */
const twoProcesses = Effect.gen(function*() {
  const store = yield* SessionStore.makeMemory()
  const a: SessionStore.SessionStoreService = { ...store }
  const b: SessionStore.SessionStoreService = { ...store }
  return { store, a, b }
})

const openOn = (store: SessionStore.SessionStoreService, id: string, options?: SessionManager.SessionOptions) =>
  Session.open(id, options).pipe(Layer.provide(Layer.succeed(SessionStore.SessionStore, store)))

/**
 * A unit of session `id` that increments the counter and then holds the session (its lock) until
 * `release` completes (never, when not given); resolves once it holds it.
 */
const holdSession = (
  store: SessionStore.SessionStoreService,
  id: string,
  options?: SessionManager.SessionOptions,
  release: Effect.Effect<void> = Effect.never
) =>
  Effect.gen(function*() {
    const holding = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(
      Effect.gen(function*() {
        yield* increment
        yield* Deferred.succeed(holding, undefined)
        yield* release
      }).pipe(Session.transaction, Effect.provide(openOn(store, id, options)))
    )
    yield* Deferred.await(holding)
    return holder
  })

describe("one process: a lock per session", () => {
  it.effect("units of one session run one at a time; nothing is lost", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const run = increment.pipe(Session.transaction, Effect.provide(openOn(store, "shared")))
      yield* Effect.all(Array.from({ length: 200 }, () => run), { concurrency: "unbounded" })
      const record = yield* store.load("shared")
      expect(Option.map(record, (r) => r.data)).toEqual(Option.some({ count: 200 }))
      expect(Locks.size(store)).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("different sessions never wait on each other", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const release = yield* Deferred.make<void>()
      const holder = yield* holdSession(store, "one", undefined, Deferred.await(release))
      // another session goes through while "one" is held
      yield* increment.pipe(Session.transaction, Effect.provide(openOn(store, "two")))
      expect(Option.isSome(yield* store.load("two"))).toBe(true)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
    }).pipe(Effect.scoped))

  it.effect("a wait longer than lockTimeout ends in a typed error, not a hang", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const holder = yield* holdSession(store, "busy", { lockTimeout: "2 seconds" })
      const waiter = yield* Effect.fork(
        increment.pipe(
          Session.transaction,
          Effect.provide(openOn(store, "busy", { lockTimeout: "2 seconds" })),
          Effect.flip
        )
      )
      yield* TestClock.adjust("3 seconds")
      const error = yield* Fiber.join(waiter)
      expect(error._tag).toBe("SessionStoreError")
      if (error._tag === "SessionStoreError") expect(error.operation).toBe("lock")
      yield* Fiber.interrupt(holder)
      expect(Locks.size(store)).toBe(0)
    }).pipe(Effect.scoped))

  // the live clock's path of the wait (a plain timer, no fiber): the test waits for the library's
  // 20 ms timer, not for a sleep of its own
  it.live("under the live clock too: a wait longer than lockTimeout is a typed error; a wait within it is served", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const options = { lockTimeout: "20 millis" } as const
      const release = yield* Deferred.make<void>()
      const holder = yield* holdSession(store, "live", options, Deferred.await(release))
      const error = yield* increment.pipe(
        Session.transaction,
        Effect.provide(openOn(store, "live", options)),
        Effect.flip
      )
      expect(error._tag).toBe("SessionStoreError")
      if (error._tag === "SessionStoreError") expect(error.operation).toBe("lock")
      expect(Locks.waiting(store, "live")).toBe(0)
      // a waiter that gets the lock in time is not failed by its timer later
      const waiter = yield* Effect.fork(
        increment.pipe(Session.transaction, Effect.provide(openOn(store, "live", { lockTimeout: "5 seconds" })))
      )
      for (let i = 0; i < 100 && Locks.waiting(store, "live") < 1; i++) yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(waiter)).toBe(2)
      expect(Locks.size(store)).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("interruption while waiting and while holding leaves no lock held", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const holder = yield* holdSession(store, "x")
      const waiters = yield* Effect.forEach(
        Array.from({ length: 5 }),
        () => Effect.fork(increment.pipe(Session.transaction, Effect.provide(openOn(store, "x")))),
        { concurrency: "unbounded" }
      )
      for (let i = 0; i < 100 && Locks.waiting(store, "x") < 5; i++) yield* Effect.yieldNow()
      expect(Locks.waiting(store, "x")).toBe(5)
      yield* Fiber.interruptAll(waiters) // while waiting
      yield* Fiber.interrupt(holder) // while holding
      expect(Locks.size(store)).toBe(0)
      // and the session works again
      yield* increment.pipe(Session.transaction, Effect.provide(openOn(store, "x")))
      expect(Option.map(yield* store.load("x"), (r) => r.data)).toEqual(Option.some({ count: 1 }))
    }).pipe(Effect.scoped))

  it.effect("a request that waited for the lock takes the snapshot its predecessor saved: no load", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      let loads = 0
      const counted: SessionStore.SessionStoreService = {
        ...store,
        load: (id) => Effect.suspend(() => (loads++, store.load(id)))
      }
      const release = yield* Deferred.make<void>()
      const holder = yield* holdSession(counted, "h", undefined, Deferred.await(release))
      expect(loads).toBe(1)
      const waiters = yield* Effect.forEach(
        Array.from({ length: 5 }),
        () => Effect.fork(increment.pipe(Session.transaction, Effect.provide(openOn(counted, "h")))),
        { concurrency: "unbounded" }
      )
      for (let i = 0; i < 100 && Locks.waiting(counted, "h") < 5; i++) yield* Effect.yieldNow()
      expect(Locks.waiting(counted, "h")).toBe(5)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.joinAll(waiters)
      // each waiter queued before the save it was handed: none of them loaded
      expect(loads).toBe(1)
      expect(Option.map(yield* store.load("h"), (r) => r.data)).toEqual(Option.some({ count: 6 }))
      expect(Locks.size(counted)).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("a holder whose session expired while it ran writes nothing (a conflict); the waiter starts afresh", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const options = { absoluteTimeout: "2 seconds", lockTimeout: "10 seconds" } as const
      const release = yield* Deferred.make<void>()
      const holder = yield* holdSession(store, "old", options, Deferred.await(release))
      const waiter = yield* Effect.fork(
        Effect.gen(function*() {
          const count = yield* increment.pipe(Session.transaction)
          return { count, expired: yield* Session.expired }
        }).pipe(Effect.provide(openOn(store, "old", options)))
      )
      for (let i = 0; i < 100 && Locks.waiting(store, "old") < 1; i++) yield* Effect.yieldNow()
      expect(Locks.waiting(store, "old")).toBe(1)
      // the holder would commit after the session's absolute deadline: it must not save (and hand
      // over) a record that has already expired (issue #12, defect 1)
      yield* TestClock.adjust("3 seconds")
      yield* Deferred.succeed(release, undefined)
      const held = yield* Effect.flip(Fiber.join(holder))
      expect(held._tag).toBe("SessionConflict")
      const { count, expired } = yield* Fiber.join(waiter)
      expect(count).toBe(1)
      expect(expired).toEqual(Option.none())
      expect(Option.map(yield* store.load("old"), (r) => r.expiresAt > 3_000)).toEqual(Option.some(true))
    }).pipe(Effect.scoped))

  it.effect("a snapshot read before a waiter queued is not handed to it: it loads what others wrote since", () =>
    Effect.gen(function*() {
      const { a, b, store } = yield* twoProcesses
      let loads = 0
      const counted: SessionStore.SessionStoreService = { ...a, load: (id) => (loads++, a.load(id)) }
      yield* increment.pipe(Session.transaction, Effect.provide(openOn(counted, "s")))
      // a reader holds the session, then a waiter queues behind it
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const reader = yield* Effect.fork(
        Effect.gen(function*() {
          yield* Session.get(Count)
          yield* Deferred.succeed(holding, undefined)
          yield* Deferred.await(release)
        }).pipe(Session.transaction, Effect.provide(openOn(counted, "s")))
      )
      yield* Deferred.await(holding)
      const waiter = yield* Effect.fork(increment.pipe(Session.transaction, Effect.provide(openOn(counted, "s"))))
      for (let i = 0; i < 100 && Locks.waiting(counted, "s") < 1; i++) yield* Effect.yieldNow()
      expect(Locks.waiting(counted, "s")).toBe(1)
      // meanwhile another process writes the counter
      yield* Session.set(Count, 42).pipe(Session.transaction, Effect.provide(openOn(b, "s")))
      const before = loads
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(reader)
      expect(yield* Fiber.join(waiter)).toBe(43)
      expect(loads).toBe(before + 1)
      expect(Option.map(yield* store.load("s"), (r) => r.data)).toEqual(Option.some({ count: 43 }))
    }).pipe(Effect.scoped))

  it.effect("10 000 distinct sessions leave no lock held, and at most 1 024 free entries behind", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, i) => `s${i}`),
        (id) => increment.pipe(Session.transaction, Effect.provide(openOn(store, id))),
        { concurrency: 50 }
      )
      expect(store.size()).toBe(10_000)
      expect(Locks.size(store)).toBe(0)
      expect(Locks.entryCount(store)).toBe(1024)
    }).pipe(Effect.scoped))

  it.effect("a session's units one after another take its free entry again: the table does not change", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const run = increment.pipe(Session.transaction, Effect.provide(openOn(store, "again")))
      yield* run
      const table = Locks.tableFor(store)
      const entry = table.entries.get("again")
      expect(entry?.held).toBe(false)
      for (let i = 0; i < 5; i++) yield* run
      // the same entry object, never deleted and added again (see locks.ts: why)
      expect(table.entries.get("again")).toBe(entry)
      expect(Locks.entryCount(store)).toBe(1)
      expect(Locks.size(store)).toBe(0)
      // and it still knows the last release, for the manager's next unit
      expect(Locks.lastRelease(table, "again")).toBe(table.releases)
      expect(Option.map(yield* store.load("again"), (r) => r.data)).toEqual(Option.some({ count: 6 }))
    }).pipe(Effect.scoped))
})

describe("many processes: compare-and-set and the conflict policies", () => {
  // unit A reads, unit B (other process) commits, then A commits: a conflict
  const race = (
    onConflict: SessionManager.SessionOptions["onConflict"],
    first: Effect.Effect<unknown, unknown, Session.Session>,
    second: Effect.Effect<unknown, unknown, Session.Session>
  ) =>
    Effect.gen(function*() {
      const { a, b, store } = yield* twoProcesses
      yield* Session.transaction(Effect.zipRight(Session.set(Count, 0), Session.set("x", "x0"))).pipe(
        Effect.provide(openOn(a, "r"))
      )
      const readA = yield* Deferred.make<void>()
      const committedB = yield* Deferred.make<void>()
      let runsOfA = 0
      const unitA = Effect.gen(function*() {
        runsOfA++
        yield* Session.keys // read
        if (runsOfA === 1) {
          yield* Deferred.succeed(readA, undefined)
          yield* Deferred.await(committedB)
        }
        yield* first
      }).pipe(Session.transaction, Effect.provide(openOn(a, "r", { onConflict })), Effect.either, Effect.fork)
      const fiberA = yield* unitA
      yield* Deferred.await(readA)
      yield* Session.transaction(second).pipe(Effect.provide(openOn(b, "r", { onConflict })))
      yield* Deferred.succeed(committedB, undefined)
      const resultA = yield* Fiber.join(fiberA)
      const data = Option.getOrThrow(yield* store.load("r")).data
      return { resultA, data, runsOfA }
    }).pipe(Effect.scoped)

  it.effect("fail: the later commit fails with SessionConflict and changes nothing", () =>
    Effect.gen(function*() {
      const { data, resultA } = yield* race("fail", Session.set("x", "from A"), Session.set(Count, 1))
      expect(resultA._tag).toBe("Left")
      if (resultA._tag === "Left") expect((resultA.left as { _tag: string })._tag).toBe("SessionConflict")
      expect(data).toEqual({ count: 1, x: "x0" })
    }))

  it.effect("merge: keys changed by only one writer each are merged", () =>
    Effect.gen(function*() {
      const { data, resultA } = yield* race("merge", Session.set("x", "from A"), Session.set(Count, 1))
      expect(resultA._tag).toBe("Right")
      expect(data).toEqual({ count: 1, x: "from A" })
    }))

  it.effect("merge: a key changed by both writers is a conflict (merge then fail)", () =>
    Effect.gen(function*() {
      const { data, resultA } = yield* race("merge", Session.set(Count, 100), Session.set(Count, 1))
      expect(resultA._tag).toBe("Left")
      expect(data).toEqual({ count: 1, x: "x0" })
    }))

  // the backoff before a retry sleeps on the Clock: these two run on the live clock (a few ms)
  it.live("retry: the whole unit runs again on fresh data; nothing is lost", () =>
    Effect.gen(function*() {
      const { data, resultA, runsOfA } = yield* race("retry", increment, increment)
      expect(resultA._tag).toBe("Right")
      expect(runsOfA).toBe(2)
      expect(data).toEqual({ count: 2, x: "x0" })
    }))

  it.live("merge-then-retry: a key changed by both runs the unit again", () =>
    Effect.gen(function*() {
      const { data, resultA, runsOfA } = yield* race("merge-then-retry", increment, increment)
      expect(resultA._tag).toBe("Right")
      expect(runsOfA).toBe(2)
      expect(data).toEqual({ count: 2, x: "x0" })
    }))
})

describe("store failures", () => {
  it.effect("a store that hangs yields SessionStoreError within its timeout (SessionStore.withTimeout)", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const hanging = SessionStore.withTimeout({ ...store, load: () => Effect.never }, "1 second")
      const fiber = yield* Effect.fork(
        Session.transaction(Session.get(Count)).pipe(
          Effect.provide(openOn(hanging, "slow")),
          Effect.flip
        )
      )
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("SessionStoreError")
      expect(error.message).toContain("load")
      expect(Locks.size(hanging)).toBe(0)
    }).pipe(Effect.scoped))
})

describe("over HTTP", () => {
  const counterApp = HttpRouter.empty.pipe(
    HttpRouter.post("/counter", Effect.map(increment, (n) => HttpServerResponse.text(String(n)))),
    HttpRouter.get(
      "/counter",
      Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(String(n)))
    ),
    HttpSession.middleware
  )

  it.scopedLive("200 concurrent POST /counter of one session on one process end at exactly 200", () =>
    Effect.gen(function*() {
      const base = yield* serve(counterApp, sessionLayer(SessionStore.layerMemory()))
      const http = client(base)
      yield* http.post("/counter")
      const cookie = `session=${http.jar.get("session")!}`
      const replies = yield* Effect.all(
        Array.from({ length: 200 }, () => client(base).post("/counter", { headers: { cookie } })),
        { concurrency: "unbounded" }
      )
      expect(replies.every((r) => r.status === 200)).toBe(true)
      expect((yield* http.get("/counter")).body).toBe("201")
    }))

  for (const onConflict of ["fail", "retry", "merge", "merge-then-retry"] as const) {
    it.scopedLive(`two processes sharing a store, policy ${onConflict}: every 200 is counted`, () =>
      Effect.gen(function*() {
        const { a, b, store } = yield* twoProcesses
        const layerOf = (s: SessionStore.SessionStoreService) =>
          sessionLayer(Layer.succeed(SessionStore.SessionStore, s), { onConflict, retryAttempts: 20 })
        const baseA = yield* serve(counterApp, layerOf(a))
        const baseB = yield* serve(counterApp, layerOf(b))
        const http = client(baseA)
        yield* http.post("/counter")
        const cookie = `session=${http.jar.get("session")!}`
        const replies = yield* Effect.all(
          Array.from(
            { length: 100 },
            (_, i) => client(i % 2 === 0 ? baseA : baseB).post("/counter", { headers: { cookie } })
          ),
          { concurrency: "unbounded" }
        )
        const ok = replies.filter((r) => r.status === 200).length
        expect(replies.every((r) => r.status === 200 || r.status === 409)).toBe(true)
        const final = Number((yield* http.get("/counter")).body)
        expect(final).toBe(1 + ok)
        if (onConflict === "retry" || onConflict === "merge-then-retry") expect(ok).toBe(100)
        expect(Locks.size(a) + Locks.size(b) + Locks.size(store)).toBe(0)
      }))
  }
})
