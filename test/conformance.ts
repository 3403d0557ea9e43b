/**
 * The conformance suite of the store contract (`SessionStoreService` in src/SessionStore.ts), run
 * against every store by test/stores.test.ts.
 *
 * Every test builds the store layer anew (a fresh store: the layers given here make a fresh
 * namespace per build) under the `TestClock` of `it.effect`, so a store must take time from `Clock`.
 * A store whose expiry runs on its server's own clock (Redis) declares it with `expiry.ttl`, and the
 * suite then checks the TTL it sets instead of moving the clock and purging.
 *
 * The declared capabilities are checked too: a store that declares `sync` must say so here (`sync:
 * true`), and its synchronous operations must agree with its effects; every store here declares
 * `list` unless it says `list: false`.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  Deferred,
  Duration,
  Effect,
  Either,
  Fiber,
  Layer,
  Option,
  Random,
  Redacted,
  Stream,
  TestClock
} from "effect"
import { Session, SessionManager, SessionStore } from "effect-session"
import type { SessionRecord } from "effect-session/SessionStore"
import { syncOf } from "../src/internal/syncStore.js"
import { Failed, Path, transactional, visit } from "./utils/seed.js"

/**
 * Hooks for what the contract cannot express.
 */
export interface ConformanceOptions<R> {
  /** Overwrite the stored bytes of the record of `id` (which exists) with something unreadable. */
  readonly corrupt?: (id: string) => Effect.Effect<void, unknown, R>
  /**
   * `clock` (default): the store purges by `Clock` time. `{ ttl }`: the server expires records by
   * itself; `ttl(id)` is the time to live it holds for the record (milliseconds), none without one.
   */
  readonly expiry?: "clock" | { readonly ttl: (id: string) => Effect.Effect<Option.Option<number>, unknown, R> }
  /** The `retainExpired` the store layer was made with. Default: 1 hour. */
  readonly retainExpired?: Duration.DurationInput
  /** A store that cannot find a user's sessions says so, and the suite skips revoke-by-user. */
  readonly deleteByUser?: boolean
  /** The store declares synchronous operations (`SessionStoreService.sync`). Default: false. */
  readonly sync?: boolean
  /** The store declares the listing capability (`SessionStoreService.list`). Default: true. */
  readonly list?: boolean
  /**
   * Runs `effect` inside an outer transaction of the app that the store's writes join (the SQL
   * store: `sql.withTransaction`). Given, the store must declare `tentative` and say true in there,
   * false outside; not given, it must not declare `tentative`.
   */
  readonly transaction?: <A, E, R2>(effect: Effect.Effect<A, E, R2>) => Effect.Effect<A, unknown, R | R2>
}

const MINUTE = 60_000
const IDLE = 30 * MINUTE

let counter = 0
const freshId = (label = "s") =>
  `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2)}`

const record = (
  now: number,
  data: SessionRecord["data"],
  version: number,
  extra: { readonly userId?: string; readonly expiresAt?: number } = {}
): SessionRecord => ({
  data,
  version,
  createdAt: now,
  expiresAt: extra.expiresAt ?? now + IDLE,
  ...(extra.userId === undefined ? {} : { userId: extra.userId })
})

/**
 * Runs the conformance suite against the store that `layer` provides.
 */
export const conformance = <R, E>(
  name: string,
  layer: Layer.Layer<SessionStore.SessionStore | R, E>,
  options: ConformanceOptions<NoInfer<R>> = {}
): void => {
  const retain = Duration.toMillis(options.retainExpired ?? Duration.hours(1))
  const test = <A, E2>(
    title: string,
    body: Effect.Effect<A, E2, SessionStore.SessionStore | R>,
    timeout?: number
  ) => it.effect(title, () => Effect.provide(body, layer), timeout)
  const Store = SessionStore.SessionStore

  describe(`${name} store: the contract`, () => {
    test(
      "load of an id the store does not hold is none",
      Effect.gen(function*() {
        const store = yield* Store
        expect(store.name.length).toBeGreaterThan(0)
        expect(Option.isNone(yield* store.load(freshId()))).toBe(true)
      })
    )

    test(
      "save, load, update, delete",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        const first = record(now, { count: 1, tags: ["a", "b"], nested: { ok: true, nothing: null } }, 1)
        yield* store.save(id, first, 0)
        expect(Option.getOrThrow(yield* store.load(id))).toEqual(first)

        const second = record(now, { count: 2 }, 2, { userId: "user-1", expiresAt: now + 2 * IDLE })
        yield* store.save(id, second, 1)
        const loaded = Option.getOrThrow(yield* store.load(id))
        expect(loaded).toEqual(second)
        expect(loaded.userId).toBe("user-1")

        // unbinding the user is kept too
        const third = record(now, { count: 3 }, 3)
        yield* store.save(id, third, 2)
        expect(Option.getOrThrow(yield* store.load(id)).userId).toBeUndefined()

        yield* store.delete(id)
        expect(Option.isNone(yield* store.load(id))).toBe(true)
        // deleting again, or an id never stored, succeeds
        yield* store.delete(id)
        yield* store.delete(freshId())
        // after a delete the id is free again (version 0)
        yield* store.save(id, record(now, { again: true }, 1), 0)
        expect(Option.getOrThrow(yield* store.load(id)).data).toEqual({ again: true })
      })
    )

    test(
      "compare-and-set: a wrong expected version is a SessionConflict and changes nothing",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        // an update of a record that does not exist
        const missing = yield* Effect.flip(store.save(id, record(now, { x: 1 }, 2), 1))
        expect(missing._tag).toBe("SessionConflict")
        expect(Option.isNone(yield* store.load(id))).toBe(true)

        const v1 = record(now, { x: 1 }, 1)
        yield* store.save(id, v1, 0)
        // a create when the record exists
        const exists = yield* Effect.flip(store.save(id, record(now, { x: "create" }, 1), 0))
        expect(exists._tag).toBe("SessionConflict")
        // a stale and a future version
        const stale = yield* Effect.flip(store.save(id, record(now, { x: "stale" }, 1), 0))
        expect(stale._tag).toBe("SessionConflict")
        const future = yield* Effect.flip(store.save(id, record(now, { x: "future" }, 3), 2))
        expect(future._tag).toBe("SessionConflict")
        if (future._tag === "SessionConflict") {
          expect(future.expectedVersion).toBe(2)
          expect(future.store).toBe(store.name)
        }
        expect(Option.getOrThrow(yield* store.load(id))).toEqual(v1)

        yield* store.save(id, record(now, { x: 2 }, 2), 1)
        const old = yield* Effect.flip(store.save(id, record(now, { x: "old" }, 2), 1))
        expect(old._tag).toBe("SessionConflict")
        expect(Option.getOrThrow(yield* store.load(id)).data).toEqual({ x: 2 })
      })
    )

    test(
      "delete with an expected version is a compare-and-set; without one it is idempotent",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        yield* store.save(id, record(now, { x: 1 }, 1), 0)
        yield* store.save(id, record(now, { x: 2 }, 2), 1)
        // a wrong version (older, newer): a SessionConflict naming the store and the version, and the
        // record stays as it was
        for (const wrong of [1, 3, 0]) {
          const conflict = yield* Effect.flip(store.delete(id, wrong))
          expect(conflict._tag).toBe("SessionConflict")
          if (conflict._tag === "SessionConflict") {
            expect(conflict.store).toBe(store.name)
            expect(conflict.expectedVersion).toBe(wrong)
          }
          expect(Option.getOrThrow(yield* store.load(id))).toEqual(record(now, { x: 2 }, 2))
        }
        // the right version deletes
        yield* store.delete(id, 2)
        expect(Option.isNone(yield* store.load(id))).toBe(true)
        // a record that is not there, with a version: someone else deleted or regenerated it
        const gone = yield* Effect.flip(store.delete(id, 2))
        expect(gone._tag).toBe("SessionConflict")
        const never = yield* Effect.flip(store.delete(freshId(), 1))
        expect(never._tag).toBe("SessionConflict")
        // without a version: unconditional and idempotent, as before
        yield* store.save(id, record(now, { x: 3 }, 1), 0)
        yield* store.delete(id)
        expect(Option.isNone(yield* store.load(id))).toBe(true)
        yield* store.delete(id)
      })
    )

    test(
      "of a delete at a version and a save expecting that version, exactly one wins",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        for (let round = 0; round < 5; round++) {
          const id = freshId()
          yield* store.save(id, record(now, { x: 1 }, 1), 0)
          const [deleted, saved] = yield* Effect.all(
            [Effect.either(store.delete(id, 1)), Effect.either(store.save(id, record(now, { x: 2 }, 2), 1))],
            { concurrency: "unbounded" }
          )
          // the save won: the delete saw version 2; the delete won: the save found no record
          expect(Either.isRight(deleted) !== Either.isRight(saved)).toBe(true)
          const stored = yield* store.load(id)
          expect(Option.isSome(stored)).toBe(Either.isRight(saved))
        }
      })
    )

    test(
      `tentative: ${
        options.transaction !== undefined ? "true inside the app's transaction, false outside" : "not declared"
      }`,
      Effect.gen(function*() {
        const store = yield* Store
        const transaction = options.transaction
        if (transaction === undefined) {
          expect(store.tentative).toBeUndefined()
          // a wrapper keeps what the store has: nothing here
          expect(SessionStore.withTimeout(store, "1 second").tentative).toBeUndefined()
          return
        }
        const tentative = store.tentative!
        expect(tentative).toBeDefined()
        expect(yield* tentative).toBe(false)
        expect(yield* transaction(tentative)).toBe(true)
        expect(yield* transaction(SessionStore.withTimeout(store, "1 second").tentative!)).toBe(true)
        expect(yield* tentative).toBe(false)
      })
    )

    test(
      "concurrent saves of one id with the same expected version: exactly one wins",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        const race = (expected: number) =>
          Effect.all(
            Array.from(
              { length: 20 },
              (_, writer) => Effect.either(store.save(id, record(now, { writer }, expected + 1), expected))
            ),
            { concurrency: "unbounded" }
          )
        for (const expected of [0, 1]) {
          const results = yield* race(expected)
          const winners = results.flatMap((r, writer) => Either.isRight(r) ? [writer] : [])
          expect(winners).toHaveLength(1)
          for (const r of results) {
            if (Either.isLeft(r)) expect(r.left._tag).toBe("SessionConflict")
          }
          const stored = Option.getOrThrow(yield* store.load(id))
          expect(stored.version).toBe(expected + 1)
          expect(stored.data).toEqual({ writer: winners[0] })
        }
      }),
      60_000
    )

    test(
      "isolation: what the caller holds after save or load is not the store's",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        const list = [1, 2]
        const nested = { a: "x" }
        const saved = { ...record(now, { list, nested }, 1) }
        yield* store.save(id, saved, 0)
        list.push(3)
        nested.a = "changed"
        ;(saved as { version: number }).version = 99
        const loaded = Option.getOrThrow(yield* store.load(id))
        expect(loaded).toEqual(record(now, { list: [1, 2], nested: { a: "x" } }, 1))
        try {
          ;(loaded.data.list as Array<number>).push(4)
          ;(loaded.data as Record<string, unknown>).extra = true
        } catch {
          // a store may give frozen values: fine too
        }
        expect(Option.getOrThrow(yield* store.load(id)).data).toEqual({ list: [1, 2], nested: { a: "x" } })
      })
    )

    test(
      "large values (about 1 MB)",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        const big = "0123456789abcdef".repeat(65_536) // 1 MiB
        const mixed = "é🙂ж".repeat(20_000)
        const value = record(now, { big, mixed, list: Array.from({ length: 1000 }, (_, i) => i) }, 1)
        yield* store.save(id, value, 0)
        const loaded = Option.getOrThrow(yield* store.load(id))
        expect((loaded.data.big as string).length).toBe(big.length)
        expect(loaded).toEqual(value)
        yield* store.save(id, record(now, { big: big + big }, 2), 1)
        expect((Option.getOrThrow(yield* store.load(id)).data.big as string).length).toBe(2 * big.length)
      }),
      60_000
    )

    test(
      "unicode keys and values, and ids of any shape (no path, key or tag escapes)",
      Effect.gen(function*() {
        const store = yield* Store
        const now = yield* Clock.currentTimeMillis
        const data = {
          "ключ": "значение",
          "🙂": "👍🏽",
          "日本語": ["\u2028", "😀", "\ud800"],
          "": "empty key",
          "a.b": { "$x": "'; DROP TABLE x; --" },
          "\"quoted\"": "\\back\\slash\n\t"
        }
        const ids = [
          "ünïcødé 🙂 ключ",
          "../../../../etc/passwd",
          "a/b\\c:d*e?f",
          "{tag}x}y{",
          "' OR 1=1 --",
          "%2e%2e%2f",
          "x".repeat(500),
          ""
        ]
        for (const [i, id] of ids.entries()) {
          yield* store.save(id, record(now, { ...data, i }, 1), 0)
        }
        for (const [i, id] of ids.entries()) {
          expect(Option.getOrThrow(yield* store.load(id)).data).toEqual({ ...data, i })
        }
        // ids that differ only by case or by normalization are different sessions
        yield* store.save("Case", record(now, { v: "upper" }, 1), 0)
        yield* store.save("case", record(now, { v: "lower" }, 1), 0)
        yield* store.save("\u00e9", record(now, { v: "nfc" }, 1), 0)
        yield* store.save("e\u0301", record(now, { v: "nfd" }, 1), 0)
        expect(Option.getOrThrow(yield* store.load("Case")).data).toEqual({ v: "upper" })
        expect(Option.getOrThrow(yield* store.load("case")).data).toEqual({ v: "lower" })
        expect(Option.getOrThrow(yield* store.load("\u00e9")).data).toEqual({ v: "nfc" })
        expect(Option.getOrThrow(yield* store.load("e\u0301")).data).toEqual({ v: "nfd" })
        for (const id of ids) yield* store.delete(id)
        for (const id of ids) expect(Option.isNone(yield* store.load(id))).toBe(true)
      })
    )

    test(
      `sync: ${options.sync === true ? "declared, and its operations agree with the effects" : "not declared"}`,
      Effect.gen(function*() {
        const store = yield* Store
        const sync = syncOf(store)
        expect(sync !== undefined).toBe(options.sync === true)
        // a wrapper that replaces load or save never takes the synchronous path
        expect(syncOf({ ...store, load: (id) => store.load(id) })).toBeUndefined()
        expect(syncOf({ ...store, save: (id, r, v) => store.save(id, r, v) })).toBeUndefined()
        expect(syncOf(SessionStore.withTimeout(store, "1 minute"))).toBeUndefined()
        if (sync === undefined) return

        const now = yield* Clock.currentTimeMillis
        const id = freshId()
        expect(Option.isNone(sync.load(id))).toBe(true)
        // saved one way, loaded both ways
        const v1 = record(now, { n: 1, list: [1] }, 1, { userId: "sync-user" })
        expect(sync.save(id, v1, 0, now)).toBeUndefined()
        expect(Option.getOrThrow(yield* store.load(id))).toEqual(v1)
        expect(Option.getOrThrow(sync.load(id))).toEqual(v1)
        const v2 = record(now, { n: 2 }, 2)
        yield* store.save(id, v2, 1)
        expect(Option.getOrThrow(sync.load(id))).toEqual(v2)
        // the same conflict both ways, and nothing changed
        const stale = record(now, { n: "stale" }, 2)
        const viaSync = sync.save(id, stale, 1, now)
        const viaEffect = yield* Effect.flip(store.save(id, stale, 1))
        expect(viaSync?._tag).toBe("SessionConflict")
        expect(viaEffect._tag).toBe("SessionConflict")
        expect(Option.getOrThrow(sync.load(id))).toEqual(v2)
        // the user binding written by the sync save was undone by the effect's save
        expect(yield* store.deleteByUser("sync-user")).toBe(0)
        // isolation on the synchronous side too
        const loaded = Option.getOrThrow(sync.load(id))
        try {
          ;(loaded.data as Record<string, unknown>).n = "mutated"
        } catch {
          // frozen: fine too
        }
        expect(Option.getOrThrow(yield* store.load(id)).data).toEqual({ n: 2 })
      })
    )

    if (options.list !== false) {
      test(
        "list: entries, count and clear; ids are redacted",
        Effect.gen(function*() {
          const store = yield* Store
          const listing = yield* SessionStore.list(store)
          const entries = Effect.map(Stream.runCollect(listing.entries), Chunk.toReadonlyArray)
          expect(yield* listing.count).toBe(0)
          expect(yield* entries).toEqual([])

          yield* TestClock.adjust("1 hour") // so that an expired session's deadline is a valid time
          const now = yield* Clock.currentTimeMillis
          const user = `lister 🙂 {${freshId("u")}}`
          const saved = [
            [freshId(), record(now, { n: 1 }, 1, { userId: user })],
            ["ünïcødé 🙂 {tag}x", record(now, { n: 2 }, 1)],
            ["' OR 1=1 --", record(now, { n: 3 }, 1, { userId: user, expiresAt: now + 2 * IDLE })],
            [freshId(), record(now, { n: 4 }, 1, { expiresAt: now - MINUTE })], // expired, kept for the retention
            [freshId(), record(now, { n: 5 }, 1)]
          ] as const
          for (const [id, r] of saved) yield* store.save(id, r, 0)
          yield* store.delete(saved[4][0])
          const held = saved.slice(0, 4)
          expect(yield* listing.count).toBe(held.length)

          const rows = yield* entries
          const plain = rows.map((row) => ({ ...row, id: Redacted.value(row.id) }))
          const expected = held.map(([id, r]) => ({
            id,
            createdAt: r.createdAt,
            expiresAt: r.expiresAt,
            userId: r.userId
          }))
          const byId = (
            a: { readonly id: string },
            b: { readonly id: string }
          ) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
          expect([...plain].sort(byId)).toEqual([...expected].sort(byId))
          // the ids stay out of logs and JSON
          expect(String(rows[0]!.id)).toBe("<redacted>")
          for (const [id] of held) expect(JSON.stringify(rows)).not.toContain(JSON.stringify(id).slice(1, -1))

          yield* listing.clear
          expect(yield* listing.count).toBe(0)
          expect(yield* entries).toEqual([])
          for (const [id] of held) expect(Option.isNone(yield* store.load(id))).toBe(true)
          if (options.deleteByUser !== false) expect(yield* store.deleteByUser(user)).toBe(0)
          // the ids are free again
          yield* store.save(saved[0][0], record(now, { again: true }, 1), 0)
          expect(yield* listing.count).toBe(1)
        })
      )
    }

    if (options.corrupt !== undefined) {
      const corrupt = options.corrupt
      test(
        "a record that cannot be read is none, and can be deleted",
        Effect.gen(function*() {
          const store = yield* Store
          const now = yield* Clock.currentTimeMillis
          const id = freshId()
          yield* store.save(id, record(now, { ok: true }, 1), 0)
          yield* corrupt(id)
          expect(Option.isNone(yield* store.load(id))).toBe(true)
          yield* store.delete(id)
          expect(Option.isNone(yield* store.load(id))).toBe(true)
        })
      )
    }

    if (options.deleteByUser !== false) {
      test(
        "deleteByUser removes the sessions bound to that user now, and only those",
        Effect.gen(function*() {
          const store = yield* Store
          const now = yield* Clock.currentTimeMillis
          const alice = `alice 🙂 {${freshId("u")}}`
          const bob = freshId("bob")
          const [a1, a2, b1, none, rebound, unbound, deleted] = Array.from({ length: 7 }, () => freshId())
          yield* store.save(a1!, record(now, { n: "a1" }, 1, { userId: alice }), 0)
          yield* store.save(a2!, record(now, { n: "a2" }, 1, { userId: alice }), 0)
          yield* store.save(b1!, record(now, { n: "b1" }, 1, { userId: bob }), 0)
          yield* store.save(none!, record(now, { n: "none" }, 1), 0)
          yield* store.save(rebound!, record(now, { n: "rebound" }, 1, { userId: alice }), 0)
          yield* store.save(rebound!, record(now, { n: "rebound" }, 2, { userId: bob }), 1)
          yield* store.save(unbound!, record(now, { n: "unbound" }, 1, { userId: alice }), 0)
          yield* store.save(unbound!, record(now, { n: "unbound" }, 2), 1)
          yield* store.save(deleted!, record(now, { n: "deleted" }, 1, { userId: alice }), 0)
          yield* store.delete(deleted!)

          expect(yield* store.deleteByUser(alice)).toBe(2)
          for (const id of [a1!, a2!, deleted!]) expect(Option.isNone(yield* store.load(id))).toBe(true)
          for (const id of [b1!, none!, rebound!, unbound!]) expect(Option.isSome(yield* store.load(id))).toBe(true)
          expect(yield* store.deleteByUser(alice)).toBe(0)
          expect(yield* store.deleteByUser(freshId("nobody"))).toBe(0)

          // a new session of the user after the revocation is found by the next one
          const a3 = freshId()
          yield* store.save(a3, record(now, { n: "a3" }, 1, { userId: alice }), 0)
          expect(yield* store.deleteByUser(alice)).toBe(1)
          expect(yield* store.deleteByUser(bob)).toBe(2)
          expect(Option.isSome(yield* store.load(none!))).toBe(true)
        })
      )
    }

    if (options.expiry === undefined || options.expiry === "clock") {
      test(
        "purge removes what expired more than the retention ago; expired records are loadable until then",
        Effect.gen(function*() {
          const store = yield* Store
          const start = yield* Clock.currentTimeMillis
          expect(yield* store.purge).toBe(0)
          const soon = freshId()
          const mid = freshId()
          const late = freshId()
          yield* store.save(soon, record(start, { n: "soon" }, 1, { expiresAt: start + MINUTE, userId: "u" }), 0)
          yield* store.save(mid, record(start, { n: "mid" }, 1, { expiresAt: start + IDLE }), 0)
          yield* store.save(late, record(start, { n: "late" }, 1, { expiresAt: start + retain + 10 * MINUTE }), 0)

          // soon: dead; mid: expired, within the retention; late: alive
          yield* TestClock.adjust(Duration.millis(MINUTE + retain + 1_000))
          expect(yield* store.purge).toBe(1)
          expect(Option.isNone(yield* store.load(soon))).toBe(true)
          const expired = Option.getOrThrow(yield* store.load(mid))
          expect(expired.expiresAt).toBeLessThan(yield* Clock.currentTimeMillis)
          expect(Option.isSome(yield* store.load(late))).toBe(true)
          expect(yield* store.purge).toBe(0)
          // a purged session's user is forgotten too
          expect(yield* store.deleteByUser("u")).toBe(0)

          yield* TestClock.adjust(Duration.millis(IDLE))
          expect(yield* store.purge).toBe(1)
          expect(Option.isNone(yield* store.load(mid))).toBe(true)
          expect(Option.isSome(yield* store.load(late))).toBe(true)

          yield* TestClock.adjust(Duration.millis(retain + 20 * MINUTE))
          expect(yield* store.purge).toBe(1)
          expect(Option.isNone(yield* store.load(late))).toBe(true)
        })
      )
    } else {
      const ttl = options.expiry.ttl
      test(
        "expiry is the server's: the TTL is expiresAt + retention, from Clock time; purge has nothing to do",
        Effect.gen(function*() {
          const store = yield* Store
          yield* TestClock.adjust(Duration.hours(5)) // Clock time is not the server's time
          const now = yield* Clock.currentTimeMillis
          const id = freshId()
          yield* store.save(id, record(now, { n: 1 }, 1, { expiresAt: now + MINUTE }), 0)
          const first = Option.getOrThrow(yield* ttl(id))
          expect(first).toBeGreaterThan(MINUTE + retain - 5_000)
          expect(first).toBeLessThanOrEqual(MINUTE + retain)
          // a save moves the deadline
          yield* store.save(id, record(now, { n: 2 }, 2, { expiresAt: now + IDLE }), 1)
          const second = Option.getOrThrow(yield* ttl(id))
          expect(second).toBeGreaterThan(IDLE + retain - 5_000)
          expect(second).toBeLessThanOrEqual(IDLE + retain)
          // an expired record is still loadable (the server keeps it for the retention)
          yield* TestClock.adjust(Duration.millis(IDLE + MINUTE))
          expect(Option.isSome(yield* store.load(id))).toBe(true)
          expect(yield* store.purge).toBeGreaterThanOrEqual(0)
          // a record saved past its retention is gone at once
          const gone = freshId()
          const later = yield* Clock.currentTimeMillis
          yield* store.save(gone, record(later, { n: 1 }, 1, { expiresAt: later - retain - MINUTE }), 0)
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20))) // real time
          expect(Option.isNone(yield* store.load(gone))).toBe(true)
        })
      )
    }
  })

  describe(`${name} store: regenerate and destroy racing a write from another process (#13)`, () => {
    // Manager A (a login) loads the session and regenerates it; while its unit runs, manager B of
    // "another process" commits a write to the same session: the same backend through a distinct
    // store object, so that B has its own in-process locks and does not queue behind A, as another
    // process would not. Then A commits.
    const race = <E extends { readonly _tag: string }>(
      policy: "merge" | "fail" | "retry" | "merge-then-retry",
      work: Effect.Effect<void, E, Session.Session>
    ) =>
      Effect.gen(function*() {
        const store = yield* Store
        const otherProcess = Layer.succeed(SessionStore.SessionStore, { ...store })
        const id = freshId()
        yield* Effect.zipRight(Session.set("role", "admin"), Session.set("visits", 1)).pipe(
          Session.transaction,
          Effect.provide(Session.open(id))
        )
        const loaded = yield* Deferred.make<void>()
        const written = yield* Deferred.make<void>()
        let runs = 0
        const a = Effect.gen(function*() {
          yield* Session.transaction(Effect.gen(function*() {
            runs++
            yield* Session.get("visits") // the unit's first access: it loads version 1
            yield* work
            if (runs === 1) {
              yield* Deferred.succeed(loaded, undefined)
              yield* Deferred.await(written)
            }
          }))
          const manager = yield* SessionManager.SessionManager
          return Redacted.value(yield* manager.id)
        }).pipe(
          Effect.provide(Session.open(id, { onConflict: policy })),
          // a retry's backoff of whole milliseconds (its jitter would make the TestClock's time a
          // fraction, which no real clock gives and a BIGINT column refuses)
          Effect.withRandom(Random.fixed([0.5]))
        )
        const fiber = yield* Effect.fork(Effect.either(a))
        yield* Deferred.await(loaded)
        // B: a privilege-reducing write and a write of another key, acknowledged
        yield* Effect.zipRight(Session.remove("role"), Session.set("theme", "dark")).pipe(
          Session.transaction,
          Effect.provide(Session.open(id)),
          Effect.provide(otherProcess)
        )
        yield* Deferred.succeed(written, undefined)
        // a retry waits its backoff on the TestClock: move it until A is done (the store's I/O is real)
        let polled = yield* Fiber.poll(fiber)
        while (Option.isNone(polled)) {
          yield* TestClock.adjust("100 millis")
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
          polled = yield* Fiber.poll(fiber)
        }
        const result = yield* Fiber.join(fiber)
        const count = options.list === false ? undefined : yield* (yield* SessionStore.list(store)).count
        return { store, id, result, runs, count }
      })

    const dataOf = (store: SessionStore.SessionStoreService, id: string) =>
      Effect.map(store.load(id), (found) => Option.map(found, (r) => r.data))

    for (const policy of ["merge", "merge-then-retry"] as const) {
      test(
        `regenerate, ${policy}: the new id holds the other process's write too, the old id is gone`,
        Effect.gen(function*() {
          const { count, id, result, runs, store } = yield* race(
            policy,
            Effect.zipRight(Session.set("user", "ann"), Session.regenerate)
          )
          const newId = Either.getOrThrow(result)
          expect(runs).toBe(1)
          expect(newId).not.toBe(id)
          expect(Option.isNone(yield* store.load(id))).toBe(true)
          // B's removal of the role is not undone by the login, and its write is kept
          expect(yield* dataOf(store, newId)).toEqual(Option.some({ visits: 1, user: "ann", theme: "dark" }))
          if (count !== undefined) expect(count).toBe(1)
        })
      )
    }

    test(
      "regenerate, merge: a key changed by both is a conflict; the other process's write stays, no new id is left",
      Effect.gen(function*() {
        const { count, id, result, store } = yield* race(
          "merge",
          Effect.zipRight(Session.set("theme", "light"), Session.regenerate)
        )
        expect(Either.isLeft(result) && result.left._tag).toBe("SessionConflict")
        expect(yield* dataOf(store, id)).toEqual(Option.some({ visits: 1, theme: "dark" }))
        if (count !== undefined) expect(count).toBe(1)
      })
    )

    test(
      "regenerate, fail: a SessionConflict; the other process's write stays under the old id, no new id is left",
      Effect.gen(function*() {
        const { count, id, result, store } = yield* race(
          "fail",
          Effect.zipRight(Session.set("user", "ann"), Session.regenerate)
        )
        expect(Either.isLeft(result) && result.left._tag).toBe("SessionConflict")
        expect(yield* dataOf(store, id)).toEqual(Option.some({ visits: 1, theme: "dark" }))
        if (count !== undefined) expect(count).toBe(1)
      })
    )

    test(
      "regenerate, retry: the unit runs again on what the other process wrote",
      Effect.gen(function*() {
        const { count, id, result, runs, store } = yield* race(
          "retry",
          Effect.zipRight(Session.set("user", "ann"), Session.regenerate)
        )
        const newId = Either.getOrThrow(result)
        expect(runs).toBe(2)
        expect(Option.isNone(yield* store.load(id))).toBe(true)
        expect(yield* dataOf(store, newId)).toEqual(Option.some({ visits: 1, user: "ann", theme: "dark" }))
        if (count !== undefined) expect(count).toBe(1)
      })
    )

    for (const policy of ["merge", "fail"] as const) {
      test(
        `destroy, ${policy}: a SessionConflict; the other process's write stays`,
        Effect.gen(function*() {
          const { id, result, store } = yield* race(policy, Session.destroy)
          expect(Either.isLeft(result) && result.left._tag).toBe("SessionConflict")
          expect(yield* dataOf(store, id)).toEqual(Option.some({ visits: 1, theme: "dark" }))
        })
      )
    }

    test(
      "destroy, retry: the unit runs again and destroys what the other process wrote",
      Effect.gen(function*() {
        const { count, id, result, runs, store } = yield* race("retry", Session.destroy)
        expect(Either.isRight(result)).toBe(true)
        expect(runs).toBe(2)
        expect(Option.isNone(yield* store.load(id))).toBe(true)
        if (count !== undefined) expect(count).toBe(0)
      })
    )
  })

  describe(`${name} store: the seed's cases through Session`, () => {
    test(
      "simple_app: the history is committed on success and discarded on failure",
      Effect.gen(function*() {
        const id = freshId()
        const open = Session.open(id)
        expect(yield* visit("/foo").pipe(Effect.provide(open))).toBe("/foo")
        expect(yield* visit("/bar").pipe(Effect.provide(open))).toBe("/foo, /bar")
        const failure = yield* Effect.flip(visit("/fail").pipe(Effect.provide(open)))
        expect(failure).toBeInstanceOf(Failed)
        const history = yield* Session.transaction(Session.getOrElse(Path, () => [])).pipe(Effect.provide(open))
        expect(history.join(", ")).toBe("/foo, /bar")
        const stored = Option.getOrThrow(yield* (yield* Store).load(id))
        expect(stored.data).toEqual({ path: ["/foo", "/bar"] })
        expect(stored.version).toBe(2)
      })
    )

    test(
      "transactional_app: abort, commit, savepoints, and no writes after the units closed",
      Effect.gen(function*() {
        const id = freshId()
        const result = yield* transactional.pipe(Effect.provide(Session.open(id)))
        expect(result.afterAbort).toEqual([])
        expect(result.atSp2).toEqual([Option.some("Zope"), Option.some("Quack")])
        expect(result.refused._tag).toBe("SessionStateError")
        expect(result.refused.message).toBe("Session's current state disallows writing")
        expect(result.body).toBe("CromLech")
        const stored = Option.getOrThrow(yield* (yield* Store).load(id))
        expect(stored.data).toEqual({ crom: "Crom", lech: "Lech" })
      })
    )

    test(
      "an expired session is replaced by a fresh one and reported with its data",
      Effect.gen(function*() {
        const id = freshId()
        yield* visit("/foo").pipe(Effect.provide(Session.open(id)))
        yield* TestClock.adjust("31 minutes")
        const { expired, history } = yield* Effect.gen(function*() {
          const history = yield* Session.transaction(Session.getOrElse(Path, () => []))
          return { expired: yield* Session.expired, history }
        }).pipe(Effect.provide(Session.open(id)))
        expect(history).toEqual([])
        const timeout = Option.getOrThrow(expired)
        expect(timeout._tag).toBe("SessionTimeout")
        expect(timeout.reason).toBe("Idle")
      })
    )

    if (options.deleteByUser !== false) {
      test(
        "log out everywhere: the sessions bound to a user are gone",
        Effect.gen(function*() {
          const store = yield* Store
          const user = freshId("user")
          const ids = [freshId(), freshId()]
          for (const id of ids) {
            yield* Effect.zipRight(Session.set("name", "Alice"), Session.bindUser(user)).pipe(
              Session.transaction,
              Effect.provide(Session.open(id))
            )
          }
          const other = freshId()
          yield* Session.set("name", "Bob").pipe(Session.transaction, Effect.provide(Session.open(other)))
          expect(yield* store.deleteByUser(user)).toBe(2)
          for (const id of ids) {
            const keys = yield* Session.transaction(Session.keys).pipe(Effect.provide(Session.open(id)))
            expect(keys).toEqual([])
          }
          expect(Option.isSome(yield* store.load(other))).toBe(true)
        })
      )
    }
  })
}
