import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { SessionConflict } from "../SessionError.js"
import type { MemoryStoreOptions, SessionRecord, SessionStoreService } from "../SessionStore.js"
import { memoryStoreDefaults, SessionStore } from "../SessionStore.js"

/** Compact form of one stored session: the data as one JSON string. @internal */
class Entry {
  constructor(
    readonly data: string,
    readonly version: number,
    readonly createdAt: number,
    readonly expiresAt: number,
    readonly userId: string | undefined
  ) {}
}

/** What tests and benchmarks may look at in a memory store. @internal */
export interface MemoryStoreInspect {
  readonly size: () => number
  /** One sweep pass now, as the scheduled fiber does it; returns how many were removed. */
  readonly sweep: Effect.Effect<number>
}

const SWEEP_CHUNK = 1024

// a turn of the event loop (I/O, timers) between two chunks of a sweep; Effect.yieldNow() only
// yields to other fibers, which may run in the same macrotask
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** @internal */
export const makeMemory = (
  options: MemoryStoreOptions = {}
): Effect.Effect<SessionStoreService & MemoryStoreInspect, never, Scope.Scope> =>
  Effect.gen(function*() {
    const maxEntries = Math.max(1, options.maxEntries ?? memoryStoreDefaults.maxEntries)
    const retainMillis = Duration.toMillis(options.retainExpired ?? memoryStoreDefaults.retainExpired)
    const sweepInterval = options.sweepInterval ?? memoryStoreDefaults.sweepInterval
    const entries = new Map<string, Entry>()
    const byUser = new Map<string, Set<string>>()

    const unindex = (id: string, entry: Entry) => {
      if (entry.userId === undefined) return
      const ids = byUser.get(entry.userId)
      if (ids === undefined) return
      ids.delete(id)
      if (ids.size === 0) byUser.delete(entry.userId)
    }
    const remove = (id: string) => {
      const entry = entries.get(id)
      if (entry === undefined) return false
      entries.delete(id)
      unindex(id, entry)
      return true
    }
    const isDead = (entry: Entry, now: number) => entry.expiresAt + retainMillis <= now
    // the oldest written entries are the first to expire under one idle timeout: look at a couple on
    // every write, so that a busy store stays clean between sweeps
    const trimOldest = (now: number) => {
      for (let i = 0; i < 2; i++) {
        const first = entries.entries().next()
        if (first.done || !isDead(first.value[1], now)) return
        remove(first.value[0])
      }
    }

    const load = (id: string) =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry === undefined) return Option.none<SessionRecord>()
        let data: SessionRecord["data"]
        try {
          data = JSON.parse(entry.data)
        } catch {
          return Option.none<SessionRecord>()
        }
        return Option.some<SessionRecord>({
          data,
          version: entry.version,
          createdAt: entry.createdAt,
          expiresAt: entry.expiresAt,
          userId: entry.userId
        })
      })

    const save = (id: string, record: SessionRecord, expectedVersion: number) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const current = entries.get(id)
        if ((current?.version ?? 0) !== expectedVersion) {
          return Effect.fail(new SessionConflict({ store: "memory", expectedVersion }))
        }
        // encode before any change, so that a failure leaves the store as it was
        const data = JSON.stringify(record.data)
        if (current !== undefined) remove(id)
        trimOldest(now)
        while (entries.size >= maxEntries) {
          const oldest = entries.keys().next()
          if (oldest.done) break
          remove(oldest.value)
        }
        const entry = new Entry(data, record.version, record.createdAt, record.expiresAt, record.userId)
        entries.set(id, entry)
        if (entry.userId !== undefined) {
          let ids = byUser.get(entry.userId)
          if (ids === undefined) byUser.set(entry.userId, ids = new Set())
          ids.add(id)
        }
        return Effect.void
      })

    const sweep: Effect.Effect<number> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let removed = 0
      let seen = 0
      for (const [id, entry] of entries) {
        if (isDead(entry, now)) {
          remove(id)
          removed++
        }
        // never hold the event loop for a whole large map: give it a turn after every chunk
        if (++seen % SWEEP_CHUNK === 0) yield* nextTurn
      }
      return removed
    })

    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(sweepInterval)).pipe(Effect.delay(sweepInterval)))

    return {
      name: "memory",
      load,
      save,
      delete: (id) => Effect.sync(() => void remove(id)),
      deleteByUser: (userId) =>
        Effect.sync(() => {
          const ids = byUser.get(userId)
          if (ids === undefined) return 0
          const all = Array.from(ids)
          for (const id of all) remove(id)
          return all.length
        }),
      purge: sweep,
      size: () => entries.size,
      sweep
    }
  })

/** @internal */
export const layerMemory = (options?: MemoryStoreOptions): Layer.Layer<SessionStore> =>
  Layer.scoped(SessionStore, makeMemory(options))
