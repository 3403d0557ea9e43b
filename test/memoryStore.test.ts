import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigError, ConfigProvider, Duration, Effect, Layer, Option, TestClock } from "effect"
import { Session, SessionStore } from "effect-session"
import { syncOf } from "../src/internal/syncStore.js"

const record = (expiresAt: number, data: Record<string, unknown> = { count: 1 }): SessionStore.SessionRecord => ({
  data,
  version: 1,
  createdAt: 0,
  expiresAt
})

describe("memory store", () => {
  it.scoped("is bounded: over maxEntries, the least recently used sessions are evicted", () =>
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

  it.scoped("a session saved again and again keeps its place, its bytes and its user right", () =>
    Effect.gen(function*() {
      // its entry is the last of its shard's order: each save replaces it where it stands
      const store = yield* SessionStore.makeMemory({ maxEntries: 3 })
      for (const id of ["b", "c"]) yield* store.save(id, record(1_000_000), 0)
      yield* store.save("a", { ...record(1_000_000), userId: "first" }, 0)
      // used after "a"'s first save, before its others
      yield* store.load("b")
      for (let version = 1; version <= 20; version++) {
        const userId = version < 20 ? "first" : "second"
        yield* store.save(
          "a",
          { ...record(1_000_000, { n: "x".repeat(version) }), version: version + 1, userId },
          version
        )
      }
      // the same size and bytes as a store given only the final records
      const fresh = yield* SessionStore.makeMemory({ maxEntries: 3 })
      for (const id of ["b", "c"]) yield* fresh.save(id, record(1_000_000), 0)
      yield* fresh.save("a", { ...record(1_000_000, { n: "x".repeat(20) }), version: 21, userId: "second" }, 0)
      expect(store.size()).toBe(fresh.size())
      expect(store.bytes()).toBe(fresh.bytes())
      // the user index follows the last save
      expect(yield* store.deleteByUser("first")).toBe(0)
      expect(Option.map(yield* store.load("a"), (r) => [r.version, r.userId])).toEqual(Option.some([21, "second"]))
      // "c" is the least recently used, then "b": "a" stays however many new sessions come
      yield* store.save("d", record(1_000_000), 0)
      expect(Option.isNone(yield* store.load("c"))).toBe(true)
      yield* store.save("e", record(1_000_000), 0)
      expect(Option.isNone(yield* store.load("b"))).toBe(true)
      expect(Option.isSome(yield* store.load("a"))).toBe(true)
      expect(yield* store.deleteByUser("second")).toBe(1)
      expect(Option.isNone(yield* store.load("a"))).toBe(true)
    }))

  it.scoped("evicts in order of use over the whole store, however the sessions are spread inside it", () =>
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
      // several chunks of the sweep in each of the store's 16 parts (it gives the event loop a turn
      // between chunks, and goes on through the part where it stopped)
      const count = 40_000
      for (let i = 0; i < count; i++) {
        yield* store.save(`s${i}`, { ...record(i % 2 === 0 ? 1000 : 10_000_000), userId: `u${i % 10}` }, 0)
      }
      yield* TestClock.adjust("1 minute")
      expect(yield* store.sweep).toBe(count / 2)
      expect(store.size()).toBe(count / 2)
      expect(yield* store.load("s0")).toEqual(Option.none())
      expect(Option.isSome(yield* store.load("s1"))).toBe(true)
      // even users had only expired sessions: nothing left to log out
      expect(yield* store.deleteByUser("u0")).toBe(0)
      expect(yield* store.deleteByUser("u1")).toBe(count / 10)
      expect(store.size()).toBe(count / 2 - count / 10)
      // a second pass finds nothing more
      expect(yield* store.sweep).toBe(0)
    }))

  it.scoped("a sweep gives the event loop a turn every chunk, also across many small parts of the store", () =>
    Effect.gen(function*() {
      // sized for millions: a thousand parts, each holding a few of these sessions, fewer than a chunk
      const store = yield* SessionStore.makeMemory({
        maxEntries: 8_000_000,
        sweepInterval: "1 day",
        retainExpired: "0 millis"
      })
      const count = 20_000
      for (let i = 0; i < count; i++) yield* store.save(`s${i}`, record(i % 2 === 0 ? 1000 : 10_000_000), 0)
      yield* TestClock.adjust("1 minute")
      // counts the event loop's turns while the pass runs
      let turns = 0
      let running = true
      const tick = () => {
        if (!running) return
        turns++
        setImmediate(tick)
      }
      setImmediate(tick)
      expect(yield* store.sweep).toBe(count / 2)
      running = false
      // about one turn every 1024 sessions read: 19 or so
      expect(turns).toBeGreaterThanOrEqual(10)
      expect(store.size()).toBe(count / 2)
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
  it.effect("the store declares it; a wrapper that replaces load or save does not take it", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const sync = syncOf(store)
      expect(sync).toBe(store.sync)
      // a copy with the same effects is the same store
      expect(syncOf({ ...store })).toBe(sync)
      // a wrapper that intercepts the operations does not get it
      const proxied = new Proxy(store, {
        get: (target, key, receiver) =>
          key === "load" ? (id: string) => target.load(id) : Reflect.get(target, key, receiver)
      })
      expect(syncOf(proxied)).toBeUndefined()
      expect(syncOf(new Proxy(store, {}))).toBe(sync)
      // withTimeout drops it, and says so in its shape
      const timed = SessionStore.withTimeout(store, "1 second")
      expect(timed.sync).toBeUndefined()
      expect(timed.list).toBeDefined()
      // the same data through both doors
      expect(sync!.save("a", { data: { n: 1 }, version: 1, createdAt: 0, expiresAt: 10_000 }, 0, 0)).toBeUndefined()
      expect(Option.map(yield* store.load("a"), (r) => r.data)).toEqual(Option.some({ n: 1 }))
      const conflict = sync!.save("a", { data: { n: 2 }, version: 1, createdAt: 0, expiresAt: 10_000 }, 0, 0)
      expect(conflict?._tag).toBe("SessionConflict")
      expect(Option.map(sync!.load("a"), (r) => r.data)).toEqual(Option.some({ n: 1 }))
    }).pipe(Effect.scoped))
})

describe("memory store: limits", () => {
  const flood = (store: SessionStore.MemoryStore, readActive: boolean) =>
    Effect.gen(function*() {
      yield* store.save("active", record(1_000_000, { user: "alice" }), 0)
      for (let i = 0; i < 1500; i++) {
        yield* store.save(`anonymous-${i}`, record(1_000_000), 0)
        // the active user makes a request every 100 anonymous writes: a load, no save
        if (readActive && i % 100 === 99) yield* store.load("active")
      }
      return Option.isSome(yield* store.load("active"))
    })

  it.scoped("with maxEntries 500, a flood of 1500 anonymous writes does not evict a session that is read", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxEntries: 500 })
      expect(yield* flood(store, true)).toBe(true)
      expect(store.size()).toBe(500)
      // the oldest anonymous ones went
      expect(Option.isNone(yield* store.load("anonymous-0"))).toBe(true)
      expect(Option.isSome(yield* store.load("anonymous-1499"))).toBe(true)
      // without the reads, the same flood evicts it: the reads are what keeps it
      const other = yield* SessionStore.makeMemory({ maxEntries: 500 })
      expect(yield* flood(other, false)).toBe(false)
    }))

  it.scoped("the manager's reads count as use too", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxEntries: 50 })
      const layer = Layer.succeed(SessionStore.SessionStore, store)
      const open = Session.open("active").pipe(Layer.provide(layer))
      yield* Session.set("user", "alice").pipe(Session.transaction, Effect.provide(open))
      for (let i = 0; i < 200; i++) {
        yield* store.save(`anonymous-${i}`, record(1_000_000), 0)
        if (i % 20 === 19) yield* Session.transaction(Session.get("user")).pipe(Effect.provide(open))
      }
      const user = yield* Session.transaction(Session.get("user")).pipe(Effect.provide(open))
      expect(user).toEqual(Option.some("alice"))
    }))

  it.scoped("is bounded by bytes: the least recently used sessions go to make room", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxBytes: 10_000 })
      const big = "x".repeat(1_000)
      for (let i = 0; i < 20; i++) {
        yield* store.save(`s${i}`, record(1_000_000, { big }), 0)
        if (i >= 1) yield* store.load("s0") // s0 is in use
        expect(store.bytes()).toBeLessThanOrEqual(10_000)
      }
      // about 1 300 bytes a session (id, data text, bookkeeping): 7 fit
      expect(store.size()).toBe(7)
      expect(Option.isSome(yield* store.load("s0"))).toBe(true)
      expect(Option.isSome(yield* store.load("s19"))).toBe(true)
      expect(Option.isNone(yield* store.load("s1"))).toBe(true)
      // removing sessions gives their bytes back
      const listing = yield* SessionStore.list(store)
      yield* listing.clear
      expect(store.bytes()).toBe(0)
      expect(store.size()).toBe(0)
    }))

  it.scoped("a session larger than maxBytes is refused with a SessionStoreError, and nothing is evicted", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxBytes: 10_000 })
      yield* store.save("small", record(1_000_000), 0)
      const error = yield* Effect.flip(store.save("secret-id", record(1_000_000, { big: "y".repeat(10_000) }), 0))
      expect(error._tag).toBe("SessionStoreError")
      if (error._tag === "SessionStoreError") {
        expect(error.operation).toBe("save")
        expect(error.message).toContain("maxBytes")
        expect(error.message).not.toContain("secret-id")
      }
      expect(store.size()).toBe(1)
      expect(Option.isNone(yield* store.load("secret-id"))).toBe(true)
      // the synchronous path refuses it the same way
      expect(store.sync.save("secret-id", record(1_000_000, { big: "y".repeat(10_000) }), 0, 0)?._tag).toBe(
        "SessionStoreError"
      )
    }))

  it.effect("invalid options fail with SessionOptionError naming the option, never a RangeError or a clamp", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [SessionStore.MemoryStoreOptions, string]> = [
        [{ maxEntries: 0 }, "maxEntries"],
        [{ maxEntries: 1.5 }, "maxEntries"],
        [{ maxEntries: Number.NaN }, "maxEntries"],
        [{ maxBytes: -1 }, "maxBytes"],
        [{ maxBytes: Infinity }, "maxBytes"],
        [{ sweepInterval: "0 millis" }, "sweepInterval"],
        [{ sweepInterval: "soon" as Duration.DurationInput }, "sweepInterval"],
        [{ retainExpired: Duration.infinity }, "retainExpired"]
      ]
      for (const [options, option] of cases) {
        const error = yield* Effect.flip(Effect.scoped(SessionStore.makeMemory(options)))
        expect(error._tag).toBe("SessionOptionError")
        expect(error.option).toBe(option)
        const layerError = yield* Effect.flip(Layer.build(SessionStore.layerMemory(options)).pipe(Effect.scoped))
        expect(layerError.option).toBe(option)
      }
      // the valid edges
      yield* Effect.scoped(
        SessionStore.makeMemory({ maxEntries: 1, retainExpired: "0 millis", sweepInterval: Duration.infinity })
      )
    }))

  it.effect("layerMemoryConfig reads its options from Config; an invalid value is a ConfigError", () =>
    Effect.gen(function*() {
      const layer = SessionStore.layerMemoryConfig({
        maxEntries: Config.integer("SESSION_MAX_ENTRIES"),
        retainExpired: Config.duration("SESSION_RETAIN").pipe(Config.withDefault(Duration.hours(1)))
      })
      const withEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))
      const size = yield* Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        for (const id of ["a", "b", "c"]) yield* store.save(id, record(1_000_000), 0)
        return yield* Effect.flatMap(SessionStore.list(store), (listing) => listing.count)
      }).pipe(Effect.provide(layer), withEnv([["SESSION_MAX_ENTRIES", "2"]]))
      expect(size).toBe(2)

      const invalid = yield* Effect.flip(
        Layer.build(layer).pipe(Effect.scoped, withEnv([["SESSION_MAX_ENTRIES", "0"]]))
      )
      expect(ConfigError.isConfigError(invalid)).toBe(true)
      expect(String(invalid)).toContain("maxEntries")
      const missing = yield* Effect.flip(Layer.build(layer).pipe(Effect.scoped, withEnv([])))
      expect(ConfigError.isConfigError(missing)).toBe(true)
    }))
})

describe("memory store: times kept exactly", () => {
  it.effect("a record's creation and expiry times come back as saved, whole or fractional, near or far apart", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const cases: ReadonlyArray<readonly [number, number, string | undefined]> = [
        [1_764_590_000_000, 1_764_591_800_000, undefined], // 30 minutes
        [1_764_590_000_000, 1_767_182_000_000, undefined], // 30 days: an age too large for a small integer
        [1_764_590_000_000, 1_764_591_800_000, "user-1"], // bound to a user
        [0.1, 1_764_590_000_000.3, undefined], // fractional
        [1_764_591_800_000, 1_764_590_000_000, undefined], // expiring before it was made
        [5, 5, undefined]
      ]
      for (const [i, [createdAt, expiresAt, userId]] of cases.entries()) {
        yield* store.save(`id-${i}`, { data: { i }, version: 1, createdAt, expiresAt, userId }, 0)
        const loaded = Option.getOrThrow(yield* store.load(`id-${i}`))
        expect([loaded.createdAt, loaded.expiresAt, loaded.userId]).toEqual([createdAt, expiresAt, userId])
      }
    }).pipe(Effect.scoped))
})
