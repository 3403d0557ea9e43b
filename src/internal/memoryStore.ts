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
import { withSync } from "./syncStore.js"

/** Compact form of one stored session: the data as one JSON string. @internal */
class Entry {
  constructor(
    readonly data: string,
    readonly version: number,
    readonly createdAt: number,
    readonly expiresAt: number,
    readonly userId: string | undefined,
    /** The store's write count when this was written: orders the entries of all shards by write. */
    readonly written: number
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

// V8 rehashes a Map in one step, in the call that makes it grow (its size reaches its capacity) or
// shrink (a delete leaves fewer than a quarter of its capacity): at 1M sessions in one Map, the one
// `delete` of a sweep that crosses 262 144 entries held the event loop for 12-16 ms, and the `set`
// that crosses 524 288 for about 20 ms. So no Map here holds more than a few thousand entries:
// sessions (and the user index) are spread over a power of two of shards by a hash of the key.
const SHARD_TARGET = 8192
const MIN_SHARDS = 16
const MAX_SHARDS = 1024

const shardCount = (maxEntries: number) => {
  let count = MIN_SHARDS
  while (count < MAX_SHARDS && count * SHARD_TARGET < maxEntries) count *= 2
  return count
}

/** FNV-1a over the whole string, folded so that the low bits (the shard) depend on all of it. */
const hash = (key: string) => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h ^ (h >>> 16)
}

/** @internal */
export const makeMemory = (
  options: MemoryStoreOptions = {}
): Effect.Effect<SessionStoreService & MemoryStoreInspect, never, Scope.Scope> =>
  Effect.gen(function*() {
    const maxEntries = Math.max(1, options.maxEntries ?? memoryStoreDefaults.maxEntries)
    const retainMillis = Duration.toMillis(options.retainExpired ?? memoryStoreDefaults.retainExpired)
    const sweepInterval = options.sweepInterval ?? memoryStoreDefaults.sweepInterval
    const shardMask = shardCount(maxEntries) - 1
    // each shard is in write order (a rewrite is a delete and a set), so its first entry is its
    // oldest; the oldest of the store is the first entry with the lowest `written` over all shards
    const shards = Array.from({ length: shardMask + 1 }, () => new Map<string, Entry>())
    // each shard's first entry and its id, found again (lazily) when it is removed
    const heads: Array<Entry | undefined> = Array.from({ length: shardMask + 1 }, () => undefined)
    const headIds: Array<string> = Array.from({ length: shardMask + 1 }, () => "")
    const byUser = Array.from({ length: shardMask + 1 }, () => new Map<string, Set<string>>())
    let size = 0
    let writes = 0

    const shardOf = (key: string) => hash(key) & shardMask
    const head = (shard: number): Entry | undefined => {
      const cached = heads[shard]
      if (cached !== undefined || shards[shard]!.size === 0) return cached
      const first = shards[shard]!.entries().next().value!
      headIds[shard] = first[0]
      return heads[shard] = first[1]
    }

    const unindex = (id: string, entry: Entry) => {
      if (entry.userId === undefined) return
      const users = byUser[shardOf(entry.userId)]!
      const ids = users.get(entry.userId)
      if (ids === undefined) return
      ids.delete(id)
      if (ids.size === 0) users.delete(entry.userId)
    }
    const removeEntry = (shard: number, id: string, entry: Entry) => {
      shards[shard]!.delete(id)
      size--
      if (heads[shard] === entry) heads[shard] = undefined
      unindex(id, entry)
    }
    const remove = (id: string) => {
      const shard = shardOf(id)
      const entry = shards[shard]!.get(id)
      if (entry === undefined) return false
      removeEntry(shard, id, entry)
      return true
    }
    const isDead = (entry: Entry, now: number) => entry.expiresAt + retainMillis <= now
    // the oldest written entries are the first to expire under one idle timeout: look at a couple in
    // the shard of every write, so that a busy store stays clean between sweeps
    const trimOldest = (shard: number, now: number) => {
      for (let i = 0; i < 2; i++) {
        const first = head(shard)
        if (first === undefined || !isDead(first, now)) return
        removeEntry(shard, headIds[shard]!, first)
      }
    }
    const evictOldest = () => {
      let oldest = -1
      let written = Infinity
      for (let shard = 0; shard <= shardMask; shard++) {
        const first = head(shard)
        if (first !== undefined && first.written < written) {
          written = first.written
          oldest = shard
        }
      }
      if (oldest < 0) return false
      removeEntry(oldest, headIds[oldest]!, heads[oldest]!)
      return true
    }

    // load and save as plain functions, which the store's effects wrap
    const loadNow = (id: string): Option.Option<SessionRecord> => {
      const entry = shards[shardOf(id)]!.get(id)
      if (entry === undefined) return Option.none()
      let data: SessionRecord["data"]
      try {
        data = JSON.parse(entry.data)
      } catch {
        return Option.none()
      }
      return Option.some({
        data,
        version: entry.version,
        createdAt: entry.createdAt,
        expiresAt: entry.expiresAt,
        userId: entry.userId
      })
    }
    const saveNow = (
      id: string,
      record: SessionRecord,
      expectedVersion: number,
      now: number
    ): SessionConflict | undefined => {
      const shard = shardOf(id)
      const current = shards[shard]!.get(id)
      if ((current?.version ?? 0) !== expectedVersion) {
        return new SessionConflict({ store: "memory", expectedVersion })
      }
      // encode before any change, so that a failure leaves the store as it was
      const data = JSON.stringify(record.data)
      if (current !== undefined) removeEntry(shard, id, current)
      trimOldest(shard, now)
      while (size >= maxEntries && evictOldest()) {
        // evicted the least recently written
      }
      const entry = new Entry(data, record.version, record.createdAt, record.expiresAt, record.userId, writes++)
      shards[shard]!.set(id, entry)
      size++
      if (entry.userId !== undefined) {
        const users = byUser[shardOf(entry.userId)]!
        let ids = users.get(entry.userId)
        if (ids === undefined) users.set(entry.userId, ids = new Set())
        ids.add(id)
      }
      return undefined
    }
    const load = (id: string) => Effect.sync(() => loadNow(id))
    const save = (id: string, record: SessionRecord, expectedVersion: number) =>
      Effect.clockWith((clock) => {
        const conflict = saveNow(id, record, expectedVersion, clock.unsafeCurrentTimeMillis())
        return conflict === undefined ? Effect.void : Effect.fail(conflict)
      })

    const sweep: Effect.Effect<number> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let removed = 0
      let seen = 0
      for (let shard = 0; shard <= shardMask; shard++) {
        for (const [id, entry] of shards[shard]!) {
          if (isDead(entry, now)) {
            removeEntry(shard, id, entry)
            removed++
          }
          // never hold the event loop for a whole large store: give it a turn after every chunk
          if (++seen % SWEEP_CHUNK === 0) yield* nextTurn
        }
      }
      return removed
    })

    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(sweepInterval)).pipe(Effect.delay(sweepInterval)))

    // the manager calls loadNow / saveNow directly on the hot path (see syncStore.ts)
    return withSync({
      name: "memory",
      load,
      save,
      delete: (id) => Effect.sync(() => void remove(id)),
      deleteByUser: (userId) =>
        Effect.sync(() => {
          const ids = byUser[shardOf(userId)]!.get(userId)
          if (ids === undefined) return 0
          const all = Array.from(ids)
          for (const id of all) remove(id)
          return all.length
        }),
      purge: sweep,
      size: () => size,
      sweep
    }, { load: loadNow, save: saveNow })
  })

/** @internal */
export const layerMemory = (options?: MemoryStoreOptions): Layer.Layer<SessionStore> =>
  Layer.scoped(SessionStore, makeMemory(options))
