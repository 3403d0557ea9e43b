import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { SessionStore } from "effect-session"
import { syncOf } from "../src/internal/syncStore.js"

const record = (expiresAt: number, data: Record<string, unknown> = { count: 1 }): SessionStore.SessionRecord => ({
  data,
  version: 1,
  createdAt: 0,
  expiresAt
})

describe("memory store", () => {
  it.scoped("is bounded: over maxEntries, the least recently written sessions are evicted", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxEntries: 3 })
      for (const id of ["a", "b", "c"]) yield* store.save(id, record(1_000_000), 0)
      // rewriting "a" makes it the most recent
      yield* store.save("a", { ...record(1_000_000), version: 2 }, 1)
      yield* store.save("d", record(1_000_000), 0)
      expect(store.size()).toBe(3)
      expect(yield* store.load("b")).toEqual(Option.none())
      expect(Option.isSome(yield* store.load("a"))).toBe(true)
      expect(Option.isSome(yield* store.load("d"))).toBe(true)
    }))

  it.scoped("evicts in write order over the whole store, however the sessions are spread inside it", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxEntries: 100 })
      const ids = Array.from({ length: 100 }, (_, i) => `session-${i}`)
      for (const id of ids) yield* store.save(id, record(1_000_000), 0)
      // rewrite every third one, newest first: the write order is now the others, then these backwards
      const rewritten = ids.filter((_, i) => i % 3 === 0).reverse()
      for (const id of rewritten) yield* store.save(id, { ...record(1_000_000), version: 2 }, 1)
      const writeOrder = [...ids.filter((_, i) => i % 3 !== 0), ...rewritten]
      // 40 new sessions evict the 40 least recently written, and only those
      for (let i = 0; i < 40; i++) yield* store.save(`new-${i}`, record(1_000_000), 0)
      expect(store.size()).toBe(100)
      const kept: Array<string> = []
      for (const id of writeOrder) if (Option.isSome(yield* store.load(id))) kept.push(id)
      expect(kept).toEqual(writeOrder.slice(40))
    }))

  it.scoped("a sweep removes every expired session of a large store, and their users' index entries", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ sweepInterval: "1 day", retainExpired: "0 millis" })
      // more than one chunk of the sweep (it gives the event loop a turn between chunks)
      for (let i = 0; i < 5000; i++) {
        yield* store.save(`s${i}`, { ...record(i % 2 === 0 ? 1000 : 10_000_000), userId: `u${i % 10}` }, 0)
      }
      yield* TestClock.adjust("1 minute")
      expect(yield* store.sweep).toBe(2500)
      expect(store.size()).toBe(2500)
      expect(yield* store.load("s0")).toEqual(Option.none())
      expect(Option.isSome(yield* store.load("s1"))).toBe(true)
      // even users had only expired sessions: nothing left to log out
      expect(yield* store.deleteByUser("u0")).toBe(0)
      expect(yield* store.deleteByUser("u1")).toBe(500)
      expect(store.size()).toBe(2000)
    }))

  it.scoped("a write removes the oldest expired sessions of its part of the store, between sweeps", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ sweepInterval: "1 day", retainExpired: "0 millis" })
      for (let i = 0; i < 1000; i++) yield* store.save(`old${i}`, record(1000), 0)
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 1000; i++) yield* store.save(`new${i}`, record(10_000_000), 0)
      // each write removes up to two expired ones, from the part of the store it goes to
      const left = store.size() - 1000
      expect(left).toBeLessThan(100)
      expect(yield* store.sweep).toBe(left)
      expect(store.size()).toBe(1000)
    }))

  it.scoped("sweeps expired sessions on one schedule, after keeping them for retainExpired", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ sweepInterval: "1 minute", retainExpired: "10 minutes" })
      yield* store.save("short", record(60_000), 0)
      yield* store.save("long", record(24 * 60 * 60_000), 0)
      yield* TestClock.adjust("5 minutes")
      // expired but retained: still loadable, so that the app can be told what expired
      expect(Option.isSome(yield* store.load("short"))).toBe(true)
      yield* TestClock.adjust("7 minutes")
      expect(yield* store.load("short")).toEqual(Option.none())
      expect(Option.isSome(yield* store.load("long"))).toBe(true)
      expect(store.size()).toBe(1)
    }))

  it.scoped("purge removes what is past its retention and says how many", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ sweepInterval: "1 day", retainExpired: "0 millis" })
      for (let i = 0; i < 10; i++) yield* store.save(`s${i}`, record(i < 4 ? 1000 : 10_000_000), 0)
      yield* TestClock.adjust("1 minute")
      expect(yield* store.purge).toBe(4)
      expect(store.size()).toBe(6)
    }))

  it.scoped("keeps records isolated from the objects the caller holds", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const data = { list: [1] }
      yield* store.save("x", record(1_000_000, data), 0)
      data.list.push(2)
      const loaded = Option.getOrThrow(yield* store.load("x"))
      ;(loaded.data.list as Array<number>).push(3)
      expect(Option.getOrThrow(yield* store.load("x")).data).toEqual({ list: [1] })
    }))

  it.scoped("compare-and-set: a stale expected version is a SessionConflict and changes nothing", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      yield* store.save("x", record(1_000_000, { n: 1 }), 0)
      const conflict = yield* Effect.flip(store.save("x", { ...record(1_000_000, { n: 2 }), version: 1 }, 0))
      expect(conflict._tag).toBe("SessionConflict")
      expect(Option.getOrThrow(yield* store.load("x")).data).toEqual({ n: 1 })
    }))
})

describe("memory store: the synchronous path the manager takes", () => {
  it.effect("the store offers it; a wrapper made by spreading the store does not inherit it", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const sync = syncOf(store)
      expect(sync).toBeDefined()
      expect(syncOf({ ...store })).toBeUndefined()
      // a wrapper that passes the mark on but intercepts the operations does not get it either
      const proxied = new Proxy(store, {
        get: (target, key, receiver) =>
          key === "load" ? (id: string) => target.load(id) : Reflect.get(target, key, receiver)
      })
      expect(syncOf(proxied)).toBeUndefined()
      expect(syncOf(new Proxy(store, {}))).toBe(sync)
      // the same data through both doors
      expect(sync!.save("a", { data: { n: 1 }, version: 1, createdAt: 0, expiresAt: 10_000 }, 0, 0)).toBeUndefined()
      expect(Option.map(yield* store.load("a"), (r) => r.data)).toEqual(Option.some({ n: 1 }))
      const conflict = sync!.save("a", { data: { n: 2 }, version: 1, createdAt: 0, expiresAt: 10_000 }, 0, 0)
      expect(conflict?._tag).toBe("SessionConflict")
      expect(Option.map(sync!.load("a"), (r) => r.data)).toEqual(Option.some({ n: 1 }))
    }).pipe(Effect.scoped))
})
