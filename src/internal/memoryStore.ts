import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { SessionConflict, SessionOptionError, SessionStoreError } from "../SessionError.js"
import type {
  Listing,
  MemoryStore,
  MemoryStoreOptions,
  SessionRecord,
  SessionStore,
  SessionSummary
} from "../SessionStore.js"
import { DecodedCache } from "./memoryDecoded.js"
import { bytesOf, createdAtOf, type Entry, makeEntry, userOf } from "./memoryEntry.js"
import { summary } from "./storeList.js"
import { sessionStoreTag } from "./storeTag.js"
import { hash, UserIndex } from "./userIndex.js"

const STORE = "memory"

/** @internal */
export const defaults = {
  maxEntries: 100_000,
  maxBytes: 128 * 1024 * 1024,
  sweepInterval: Duration.minutes(1),
  retainExpired: Duration.hours(1)
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

interface Resolved {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly sweepInterval: Duration.Duration
  readonly retainMillis: number
}

interface Invalid {
  readonly option: keyof MemoryStoreOptions
  readonly detail: string
}

const positiveInteger = (option: "maxEntries" | "maxBytes", value: number | undefined, fallback: number) =>
  value === undefined
    ? Either.right(fallback)
    : Number.isSafeInteger(value) && value > 0
    ? Either.right(value)
    : Either.left<Invalid>({ option, detail: "must be a positive integer" })

const duration = (
  option: "sweepInterval" | "retainExpired",
  value: Duration.DurationInput | undefined,
  fallback: Duration.Duration,
  valid: (d: Duration.Duration) => boolean,
  detail: string
) => {
  const decoded = value === undefined ? Option.some(fallback) : Duration.decodeUnknown(value)
  return Option.isSome(decoded) && valid(decoded.value)
    ? Either.right(decoded.value)
    : Either.left<Invalid>({ option, detail })
}

/** The options with their defaults, or the first invalid one. @internal */
export const resolveOptions = (options: MemoryStoreOptions): Either.Either<Resolved, Invalid> =>
  Either.all({
    maxEntries: positiveInteger("maxEntries", options.maxEntries, defaults.maxEntries),
    maxBytes: positiveInteger("maxBytes", options.maxBytes, defaults.maxBytes),
    sweepInterval: duration(
      "sweepInterval",
      options.sweepInterval,
      defaults.sweepInterval,
      (d) => Duration.toMillis(d) > 0,
      "must be a positive duration (Duration.infinity turns the sweep off)"
    ),
    retainExpired: duration(
      "retainExpired",
      options.retainExpired,
      defaults.retainExpired,
      (d) => Duration.isFinite(d),
      "must be a finite duration"
    )
  }).pipe(Either.map(({ retainExpired, ...rest }) => ({ ...rest, retainMillis: Duration.toMillis(retainExpired) })))

const make = (options: Resolved): Effect.Effect<MemoryStore, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { maxBytes, maxEntries, retainMillis, sweepInterval } = options
    const shardMask = shardCount(maxEntries) - 1
    // each shard is in order of use (a load or a save moves the entry to the end), so its first entry
    // is its least recently used; that of the store is the first entry with the lowest `used` over
    // all shards
    const shards = Array.from({ length: shardMask + 1 }, () => new Map<string, Entry>())
    // each shard's first entry and its id, found again (lazily) when it is removed or moved
    const heads: Array<Entry | undefined> = Array.from({ length: shardMask + 1 }, () => undefined)
    const headIds: Array<string> = Array.from({ length: shardMask + 1 }, () => "")
    // the entry last set in each shard, the last of its order if it is still there: a use of it
    // needs no move, and a save of its session replaces it where it stands (a `set` of a key that
    // is there keeps its place). A delete and an insert in a Map, per request, cost about 0.8 µs
    // once the Map is in V8's old generation (locks.ts)
    const tails: Array<Entry | undefined> = Array.from({ length: shardMask + 1 }, () => undefined)
    const byUser = new UserIndex(shardMask + 1)
    let size = 0
    let bytes = 0
    let uses = 0
    const decoded = new DecodedCache()

    const shardOf = (key: string) => hash(key) & shardMask
    const head = (shard: number): Entry | undefined => {
      const cached = heads[shard]
      if (cached !== undefined || shards[shard]!.size === 0) return cached
      const first = shards[shard]!.entries().next().value!
      headIds[shard] = first[0]
      return heads[shard] = first[1]
    }

    const removeEntry = (shard: number, id: string, entry: Entry) => {
      shards[shard]!.delete(id)
      size--
      bytes -= bytesOf(id, entry.data)
      if (heads[shard] === entry) heads[shard] = undefined
      // a removed session's data is not kept alive by the shard's tail (nor by the decoded cache)
      if (tails[shard] === entry) tails[shard] = undefined
      byUser.remove(userOf(entry), id)
      decoded.drop(entry)
    }
    const remove = (id: string) => {
      const shard = shardOf(id)
      const entry = shards[shard]!.get(id)
      if (entry !== undefined) removeEntry(shard, id, entry)
    }
    const isDead = (entry: Entry, now: number) => entry.expiresAt + retainMillis <= now
    // the least recently used entries are the first to expire under one idle timeout: look at a
    // couple in the shard of every write (up to `keep`, the entry the write replaces where it
    // stands), so that a busy store stays clean between sweeps
    const trimOldest = (shard: number, now: number, keep?: Entry) => {
      for (let i = 0; i < 2; i++) {
        const first = head(shard)
        if (first === undefined || first === keep || !isDead(first, now)) return
        removeEntry(shard, headIds[shard]!, first)
      }
    }
    const evictLeastRecentlyUsed = () => {
      let oldest = -1
      let used = Infinity
      for (let shard = 0; shard <= shardMask; shard++) {
        const first = head(shard)
        if (first !== undefined && first.used < used) {
          used = first.used
          oldest = shard
        }
      }
      if (oldest < 0) return false
      removeEntry(oldest, headIds[oldest]!, heads[oldest]!)
      return true
    }

    // load and save as plain functions: the store's `sync`, which its effects wrap
    const loadNow = (id: string): Option.Option<SessionRecord> => {
      const shard = shardOf(id)
      const map = shards[shard]!
      const entry = map.get(id)
      if (entry === undefined) return Option.none()
      let data: SessionRecord["data"]
      try {
        data = decoded.decode(entry)
      } catch {
        return Option.none()
      }
      // a use: to the end of its shard's order, unless it was used within the last eighth of the
      // store's size in loads and saves (it is among the most recent eighth then, far from eviction
      // by count or by bytes), so that a hot session is read without touching its map
      if (uses - entry.used > size >> 3) {
        entry.used = uses++
        // the last of its shard's order already (a session used again and again): nothing to move
        if (tails[shard] !== entry) {
          map.delete(id)
          map.set(id, entry)
          tails[shard] = entry
          if (heads[shard] === entry) heads[shard] = undefined
        }
      }
      return Option.some({
        data,
        version: entry.version,
        createdAt: createdAtOf(entry),
        expiresAt: entry.expiresAt,
        userId: userOf(entry)
      })
    }
    const saveNow = (
      id: string,
      record: SessionRecord,
      expectedVersion: number,
      now: number
    ): SessionConflict | SessionStoreError | undefined => {
      const shard = shardOf(id)
      const current = shards[shard]!.get(id)
      if ((current?.version ?? 0) !== expectedVersion) {
        return new SessionConflict({ store: STORE, expectedVersion })
      }
      // encode and check before any change, so that a failure leaves the store as it was
      let data: string
      try {
        data = JSON.stringify(record.data)
      } catch (cause) {
        return new SessionStoreError({ store: STORE, operation: "save", cause })
      }
      const needed = bytesOf(id, data)
      if (needed > maxBytes) {
        return new SessionStoreError({
          store: STORE,
          operation: "save",
          detail: "the session is larger than the store's maxBytes"
        })
      }
      if (current !== undefined && current === tails[shard] && replaceInPlace(shard, id, current, data, record, now)) {
        return undefined
      }
      if (current !== undefined) removeEntry(shard, id, current)
      trimOldest(shard, now)
      while ((size >= maxEntries || bytes + needed > maxBytes) && evictLeastRecentlyUsed()) {
        // evicted the least recently used
      }
      const entry = makeEntry(data, record, uses++)
      shards[shard]!.set(id, entry)
      tails[shard] = entry
      size++
      bytes += needed
      byUser.add(record.userId, id)
      decoded.committed(entry, record.data)
      return undefined
    }
    // a save of the session whose entry is the last of its shard's order (see `tails`): the new
    // entry takes the old one's place in the Map, where it is the last too. Not where the store
    // must evict for it (a larger session over `maxBytes`): false, and the save goes the usual way
    const replaceInPlace = (
      shard: number,
      id: string,
      current: Entry,
      data: string,
      record: SessionRecord,
      now: number
    ): boolean => {
      trimOldest(shard, now, current)
      const freed = bytesOf(id, current.data)
      const needed = bytesOf(id, data)
      if (bytes - freed + needed > maxBytes) return false
      bytes += needed - freed
      const entry = makeEntry(data, record, uses++)
      shards[shard]!.set(id, entry)
      tails[shard] = entry
      if (heads[shard] === current) heads[shard] = entry
      const userId = userOf(current)
      if (userId !== record.userId) {
        byUser.remove(userId, id)
        byUser.add(record.userId, id)
      }
      decoded.drop(current)
      decoded.committed(entry, record.data)
      return true
    }
    const load = (id: string) => Effect.sync(() => loadNow(id))
    const save = (id: string, record: SessionRecord, expectedVersion: number) =>
      Effect.clockWith((clock) => {
        const failure = saveNow(id, record, expectedVersion, clock.unsafeCurrentTimeMillis())
        return failure === undefined ? Effect.void : Effect.fail(failure)
      })

    // reads up to `budget` entries of a shard through its iterator (which a delete does not
    // disturb), removes the dead ones, and says how many it read: fewer than `budget` when the shard
    // is done. A plain function, so that the iterator's results are optimized away: a `for…of` over
    // the Map in the sweep's generator made an entry array and an iterator result for each entry
    // (about 110 MB of garbage a pass at 1M sessions, whose collection blocked the event loop
    // longer than the pass's own chunks)
    const sweepSome = (
      pass: { removed: number },
      shard: number,
      ids: IterableIterator<string>,
      now: number,
      budget: number
    ): number => {
      const map = shards[shard]!
      for (let read = 0; read < budget; read++) {
        const next = ids.next()
        if (next.done === true) return read
        const entry = map.get(next.value)!
        if (isDead(entry, now)) {
          removeEntry(shard, next.value, entry)
          pass.removed++
        }
      }
      return budget
    }
    // one pass over the store, with a turn of the event loop after every SWEEP_CHUNK entries read,
    // across shards (a store sized for millions has a thousand shards of a few entries each)
    const sweep: Effect.Effect<number> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const pass = { removed: 0 }
      let budget = SWEEP_CHUNK
      for (let shard = 0; shard <= shardMask; shard++) {
        const ids = shards[shard]!.keys()
        for (;;) {
          const wanted = budget
          const read = sweepSome(pass, shard, ids, now, wanted)
          budget -= read
          if (budget === 0) {
            yield* nextTurn
            budget = SWEEP_CHUNK
          }
          if (read < wanted) break
        }
      }
      return pass.removed
    })

    if (Duration.isFinite(sweepInterval)) {
      yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(sweepInterval)).pipe(Effect.delay(sweepInterval)))
    }

    const list: Listing = {
      // one shard at a time (a few thousand sessions): a large store is never copied at once
      entries: Stream.fromIterable(shards).pipe(
        Stream.mapConcat((shard) => {
          const rows: Array<SessionSummary> = []
          for (const [id, entry] of shard) {
            rows.push(summary(id, { createdAt: createdAtOf(entry), expiresAt: entry.expiresAt, userId: userOf(entry) }))
          }
          return rows
        })
      ),
      count: Effect.sync(() => size),
      clear: Effect.sync(() => {
        for (let shard = 0; shard <= shardMask; shard++) {
          shards[shard]!.clear()
          heads[shard] = undefined
          tails[shard] = undefined
        }
        byUser.clear()
        decoded.clear()
        size = 0
        bytes = 0
      })
    }

    return {
      name: STORE,
      load,
      save,
      // a compare-and-set delete checks and removes in one synchronous step: nothing runs between
      delete: (id, expectedVersion) =>
        Effect.suspend(() => {
          if (expectedVersion !== undefined) {
            const entry = shards[shardOf(id)]!.get(id)
            if (entry === undefined || entry.version !== expectedVersion) {
              return Effect.fail(new SessionConflict({ store: STORE, expectedVersion }))
            }
          }
          remove(id)
          return Effect.void
        }),
      deleteByUser: (userId) =>
        Effect.sync(() => {
          const ids = byUser.keys(userId)
          for (const id of ids) remove(id)
          return ids.length
        }),
      purge: sweep,
      sync: { load: loadNow, save: saveNow, effects: { load, save } },
      list,
      size: () => size,
      bytes: () => bytes,
      sweep
    }
  })

// without options nothing can be invalid: the overloads say so in the types

/** @internal */
export function makeMemory(): Effect.Effect<MemoryStore, never, Scope.Scope>
/** @internal */
export function makeMemory(
  options: MemoryStoreOptions | undefined
): Effect.Effect<MemoryStore, SessionOptionError, Scope.Scope>
export function makeMemory(
  options: MemoryStoreOptions = {}
): Effect.Effect<MemoryStore, SessionOptionError, Scope.Scope> {
  return Either.match(resolveOptions(options), {
    onLeft: (invalid) => Effect.fail(new SessionOptionError(invalid)),
    onRight: make
  })
}

/** @internal */
export function layerMemory(): Layer.Layer<SessionStore>
/** @internal */
export function layerMemory(options: MemoryStoreOptions | undefined): Layer.Layer<SessionStore, SessionOptionError>
export function layerMemory(options?: MemoryStoreOptions): Layer.Layer<SessionStore, SessionOptionError> {
  return Layer.scoped(sessionStoreTag, makeMemory(options))
}

/** @internal */
export const layerMemoryConfig = (
  options: Config.Config.Wrap<MemoryStoreOptions>
): Layer.Layer<SessionStore, ConfigError.ConfigError> =>
  Layer.scoped(
    sessionStoreTag,
    Effect.flatMap(Config.unwrap(options), (values) =>
      Either.match(resolveOptions(values), {
        onLeft: (invalid) => Effect.fail(ConfigError.InvalidData([invalid.option], invalid.detail)),
        onRight: make
      }))
  )
