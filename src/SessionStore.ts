/**
 * The persistence contract of effect-session, and the memory store (the embedded default).
 *
 * The contract is small on purpose (like scs's `Store`): four operations, each with its rules
 * written down, so that a new backend is easy to write and easy to check with the conformance suite
 * that every store of this package passes.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/memoryStore.js"
import * as codec from "./internal/record.js"
import * as listing from "./internal/storeList.js"
import { sessionStoreTag } from "./internal/storeTag.js"
import * as storeTimeout from "./internal/storeTimeout.js"
import type { SessionConflict, SessionOptionError, SessionStoreError } from "./SessionError.js"

/**
 * One stored session.
 *
 * - `data`: the session's values in stored form (JSON values, keyed by name).
 * - `version`: bumped by one on every save; the compare-and-set token. A session that was never
 *   saved has version 0.
 * - `createdAt`, `expiresAt`: epoch milliseconds from `Clock`. `expiresAt` is absolute: the earlier
 *   of the idle deadline and the absolute-lifetime deadline.
 * - `userId`: the user the session is bound to, if any (for "log out everywhere").
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * // an admin view: when does a stored session expire?
 * const expiresAt = (id: string) =>
 *   Effect.flatMap(SessionStore.SessionStore, (store) =>
 *     Effect.map(store.load(id), Option.map((record: SessionStore.SessionRecord) => new Date(record.expiresAt))))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionRecord {
  readonly data: { readonly [key: string]: unknown }
  readonly version: number
  readonly createdAt: number
  readonly expiresAt: number
  readonly userId?: string | undefined
}

/**
 * A session store.
 *
 * ## Invariants every store keeps
 *
 * 1. `load(id)` is `Option.none()` for an id the store does not hold, and for a malformed id or a
 *    stored record that cannot be read (corrupt bytes, an unknown format): never an error. An error
 *    (`SessionStoreError`) means the backend itself failed.
 * 2. `load` may return a record whose `expiresAt` has passed (so that the app can be told what
 *    expired); it never resumes it: the caller checks `expiresAt` against `Clock`. A store may drop
 *    expired records at any time (purge, native TTL).
 * 3. `save(id, record, expectedVersion)` is a compare-and-set: it writes only if the version held now
 *    (0 when there is none) equals `expectedVersion`, and fails with `SessionConflict` otherwise.
 *    `record.version` is `expectedVersion + 1`. Of two concurrent saves with the same expected
 *    version, exactly one succeeds. A save is atomic: a reader sees the old record or the new one.
 * 4. `delete(id)` removes the record; deleting an absent id succeeds. `delete(id, expectedVersion)`
 *    is a compare-and-set delete: it removes the record only if the version held now is exactly
 *    `expectedVersion`, atomically (of a delete and a concurrent save, one sees the other's result),
 *    and fails with `SessionConflict` (the store's name, `expectedVersion`) otherwise, leaving the
 *    record as it was. An absent record with an `expectedVersion` is a conflict too: someone else
 *    deleted or regenerated it. Regenerate and destroy delete the old id this way, so that a write
 *    another process committed meanwhile is never deleted unseen.
 * 5. Stored records are isolated: nothing the caller holds after `save` or receives from `load`
 *    shares mutable state with the store.
 * 6. `deleteByUser(userId)` removes every record bound to that user and returns how many; `purge`
 *    removes records that expired more than the store's retention ago and returns how many.
 * 7. No id and no data appear in error messages or logs.
 *
 * ## Declared capabilities
 *
 * Three members are optional: a store declares what it can do, and nothing is detected any other way.
 *
 * - `sync` ({@link Sync}): `load` and `save` as plain functions, for a store that completes them at
 *   once (the memory store). The manager calls them on its hot path instead of building effects.
 * - `list` ({@link Listing}): list, count and clear the stored sessions (admin screens; express-session's
 *   `store.all`, `length` and `clear`). Reach it through {@link list}, which fails with a typed error
 *   for a store without it.
 * - `tentative`: whether a write made now, by the calling fiber, joins an outer transaction of the
 *   app that may still roll back (the SQL store inside `sql.withTransaction`). The manager then
 *   treats what it committed as not yet durable: it hands that snapshot to no other unit, and its
 *   next unit reads the store again. A store whose writes are durable when they answer leaves it
 *   out.
 *
 * A wrapper that replaces `load` or `save` (a timeout, a counter, a fault injector) must not pass
 * `sync` on: {@link withTimeout} drops it, and a `sync` whose `effects` are not the store's own
 * `load` and `save` is ignored, so a wrapper made by spreading a store (`{ ...store, load }`) goes
 * through its own effects.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Option } from "effect"
 * import { SessionError, SessionStore } from "effect-session"
 *
 * // a store over a Map, for tests (records are immutable values, so sharing them is safe)
 * const makeMapStore = (): SessionStore.SessionStoreService => {
 *   const records = new Map<string, SessionStore.SessionRecord>()
 *   return {
 *     name: "map",
 *     load: (id) => Effect.sync(() => Option.fromNullable(records.get(id))),
 *     save: (id, record, expectedVersion) =>
 *       Effect.suspend(() =>
 *         (records.get(id)?.version ?? 0) === expectedVersion
 *           ? Effect.sync(() => void records.set(id, record))
 *           : Effect.fail(new SessionError.SessionConflict({ store: "map", expectedVersion }))
 *       ),
 *     delete: (id, expectedVersion) =>
 *       Effect.suspend(() =>
 *         expectedVersion === undefined || records.get(id)?.version === expectedVersion
 *           ? Effect.sync(() => void records.delete(id))
 *           : Effect.fail(new SessionError.SessionConflict({ store: "map", expectedVersion }))
 *       ),
 *     deleteByUser: (userId) =>
 *       Effect.sync(() => {
 *         const ids = [...records].filter(([, r]) => r.userId === userId).map(([id]) => id)
 *         ids.forEach((id) => records.delete(id))
 *         return ids.length
 *       }),
 *     purge: Effect.succeed(0)
 *   }
 * }
 *
 * const MapStoreLive = Layer.sync(SessionStore.SessionStore, makeMapStore)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionStoreService {
  /** A short name for errors, spans and metrics ("memory", "redis", ...). */
  readonly name: string
  readonly load: (id: string) => Effect.Effect<Option.Option<SessionRecord>, SessionStoreError>
  readonly save: (
    id: string,
    record: SessionRecord,
    expectedVersion: number
  ) => Effect.Effect<void, SessionStoreError | SessionConflict>
  /**
   * Removes the record of `id`. With `expectedVersion`, only if that is the version held now;
   * otherwise (another version, or no record) a `SessionConflict` and nothing changes (invariant 4).
   */
  readonly delete: (id: string, expectedVersion?: number) => Effect.Effect<void, SessionStoreError | SessionConflict>
  readonly deleteByUser: (userId: string) => Effect.Effect<number, SessionStoreError>
  readonly purge: Effect.Effect<number, SessionStoreError>
  /** Synchronous `load` and `save`, for a store that completes them at once. See {@link Sync}. */
  readonly sync?: Sync | undefined
  /** Listing, counting and clearing the stored sessions. See {@link Listing} and {@link list}. */
  readonly list?: Listing | undefined
  /**
   * Whether a write made now by this fiber joins an outer transaction of the app that may still
   * roll back (so that it is not durable until that transaction commits). Declared by the SQL store
   * (true inside `sql.withTransaction`); a store whose writes are durable at once leaves it out.
   */
  readonly tentative?: Effect.Effect<boolean> | undefined
}

/**
 * The synchronous operations a store may declare (`SessionStoreService.sync`): its `load` and `save`
 * as plain functions, with the same semantics as the effects (`now` is the time the effect would
 * read from `Clock`; a failure is returned, not thrown). The session manager calls them without
 * building an effect, on the hot path of every request; the conformance suite checks that they agree
 * with the effects.
 *
 * `effects` names the `load` and `save` these functions stand for: they are used only while the
 * store's `load` and `save` are those very functions, so that a wrapper made by spreading the store
 * and replacing either goes through its own effects.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * // a counting wrapper: it replaces load, so it leaves sync out (the manager then calls its effects)
 * const counted = (store: SessionStore.SessionStoreService, count: () => void): SessionStore.SessionStoreService => {
 *   const { sync: _sync, ...effects } = store
 *   return { ...effects, load: (id) => Effect.zipRight(Effect.sync(count), store.load(id)) }
 * }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Sync {
  readonly load: (id: string) => Option.Option<SessionRecord>
  readonly save: (
    id: string,
    record: SessionRecord,
    expectedVersion: number,
    now: number
  ) => SessionConflict | SessionStoreError | undefined
  /** The store's effects that these functions stand for. */
  readonly effects: {
    readonly load: SessionStoreService["load"]
    readonly save: SessionStoreService["save"]
  }
}

/**
 * One stored session as a listing shows it: no data (load it by id if you need it). The id is
 * `Redacted`, since whoever holds it holds the session: it shows as `<redacted>` in logs, and an
 * admin screen takes it out with `Redacted.value` to delete the session or look at it.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { SessionStore } from "effect-session"
 *
 * const row = (s: SessionStore.SessionSummary) =>
 *   `${s.userId ?? "anonymous"} until ${new Date(s.expiresAt).toISOString()}`
 * const revoke = (store: SessionStore.SessionStoreService, s: SessionStore.SessionSummary) =>
 *   store.delete(Redacted.value(s.id))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface SessionSummary {
  readonly id: Redacted.Redacted<string>
  readonly createdAt: number
  readonly expiresAt: number
  readonly userId: string | undefined
}

/**
 * The listing capability a store may declare (`SessionStoreService.list`), for admin screens: what
 * express-session's `store.all`, `store.length` and `store.clear` do. The memory, file system, SQL
 * and Redis stores have it (Redis: `SCAN` over the store's prefix, on every master of a cluster);
 * the sealed-cookie store cannot have it (the sessions are in the browsers).
 *
 * - `entries`: every session the store holds, in no set order, as a stream (a large store is read a
 *   page at a time). Expired sessions that the store still keeps for its retention are among them:
 *   compare `expiresAt` with `Clock`.
 * - `count`: how many sessions the store holds, expired ones it keeps included.
 * - `clear`: removes every session (and every user's index) of this store, and nothing else (a
 *   Redis store clears its prefix, a SQL store its table).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * const dashboard = Effect.gen(function*() {
 *   const listing = yield* SessionStore.list(yield* SessionStore.SessionStore)
 *   const total = yield* listing.count
 *   const users = yield* listing.entries.pipe(
 *     Stream.filter((s) => s.userId !== undefined),
 *     Stream.runCount
 *   )
 *   return { total, users }
 * })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Listing {
  readonly entries: Stream.Stream<SessionSummary, SessionStoreError>
  readonly count: Effect.Effect<number, SessionStoreError>
  readonly clear: Effect.Effect<void, SessionStoreError>
}

/**
 * The listing capability of `store`, or a `SessionStoreError` (operation `list`) when the store does
 * not declare one (a store of your own, a sealed-cookie store).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * // log everyone out: every session of the store is removed
 * const clearAll = Effect.gen(function*() {
 *   const listing = yield* SessionStore.list(yield* SessionStore.SessionStore)
 *   yield* listing.clear
 * })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const list: (store: SessionStoreService) => Effect.Effect<Listing, SessionStoreError> = listing.list

/**
 * The session store service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * // "log out everywhere", e.g. after a password change
 * const revokeAll = (userId: string) =>
 *   Effect.gen(function*() {
 *     const store = yield* SessionStore.SessionStore
 *     const revoked = yield* store.deleteByUser(userId)
 *     yield* Effect.log(`revoked ${revoked} sessions`)
 *   })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const SessionStore: Context.Tag<SessionStore, SessionStoreService> = sessionStoreTag

/**
 * The identifier of the {@link SessionStore} tag in an effect's requirements.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { SessionStore } from "effect-session"
 *
 * declare const StoreLive: Layer.Layer<SessionStore.SessionStore>
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export interface SessionStore {
  readonly _: unique symbol
}

/**
 * Options of the memory store. An invalid value (a count or size that is not a positive integer, a
 * duration that is not positive and finite) fails the layer with `SessionOptionError` naming it.
 *
 * @example
 * ```ts
 * import { SessionStore } from "effect-session"
 *
 * const options: SessionStore.MemoryStoreOptions = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 }
 * const StoreLive = SessionStore.layerMemory(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryStoreOptions {
  /**
   * The most sessions held at once. When a save would go over, the least recently used sessions are
   * evicted (a load or a save is a use; a session already used within the last (size / 8)
   * loads and saves, which is far from eviction, is not moved again). Default: 100 000.
   */
  readonly maxEntries?: number | undefined
  /**
   * The most bytes the sessions may take, counted as the length of each session's id and JSON data
   * (one byte a character) plus 240 bytes of bookkeeping per session (what a small session takes in
   * V8's heap). When a save would go over, the least recently used sessions are evicted; a single
   * session larger than this is refused (`SessionStoreError` on save), never truncated.
   * Default: 128 MiB.
   */
  readonly maxBytes?: number | undefined
  /**
   * How often expired sessions are swept, by one fiber for the whole store. A pass gives the event
   * loop a turn after every 1 024 sessions, and the store keeps its sessions in many small maps, so
   * that no step of a pass (nor a save) has to rehash a large one: at 1M sessions a pass holds the
   * event loop for a few milliseconds at a time (`npm run bench:growth`). Default: 1 minute.
   */
  readonly sweepInterval?: Duration.DurationInput | undefined
  /**
   * How long an expired session is kept so that a returning client can be told what expired
   * (`SessionTimeout` with the data). Default: 1 hour.
   */
  readonly retainExpired?: Duration.DurationInput | undefined
}

/**
 * The defaults of {@link MemoryStoreOptions}.
 *
 * @example
 * ```ts
 * import { SessionStore } from "effect-session"
 *
 * // ten times the default capacity, the rest as default
 * const StoreLive = SessionStore.layerMemory({ maxEntries: SessionStore.memoryStoreDefaults.maxEntries * 10 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const memoryStoreDefaults: {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly sweepInterval: Duration.Duration
  readonly retainExpired: Duration.Duration
} = internal.defaults

/**
 * A memory store, as {@link makeMemory} makes it: a {@link SessionStoreService} that can also tell
 * how many sessions it holds and sweep expired ones on demand (for tests and benchmarks). It declares
 * both capabilities, `sync` and `list`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * const report = (store: SessionStore.MemoryStore) =>
 *   Effect.map(store.sweep, (removed) => `${removed} expired sessions removed, ${store.size()} left`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryStore extends SessionStoreService {
  /** How many sessions the store holds now, expired ones included. */
  readonly size: () => number
  /** How many bytes its sessions take now, as `maxBytes` counts them. */
  readonly bytes: () => number
  /** One sweep pass now, as the scheduled fiber does it; returns how many were removed. */
  readonly sweep: Effect.Effect<number>
  readonly sync: Sync
  readonly list: Listing
}

/**
 * Makes a memory store in the current scope; its sweep fiber stops with the scope. Invalid options
 * fail with `SessionOptionError` (none can fail without options).
 *
 * Records are kept in compact, encoded form (one JSON string per session), so nothing the app holds
 * can change them. The most recently used large sessions (a few MiB of their text at most, outside
 * `maxBytes`) are also kept decoded, deeply frozen, so that loading them again costs no parse: a
 * `load` of one gives that frozen object.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const store = yield* SessionStore.makeMemory({ maxEntries: 1_000 })
 *     yield* store.save("s1", { data: { theme: "dark" }, version: 1, createdAt: 0, expiresAt: 60_000 }, 0)
 *     return store.size() // 1
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: {
  (): Effect.Effect<MemoryStore, never, Scope.Scope>
  (options: MemoryStoreOptions | undefined): Effect.Effect<MemoryStore, SessionOptionError, Scope.Scope>
} = internal.makeMemory

/**
 * The memory store as a layer: the embedded default, for one process. Invalid options fail the
 * layer with `SessionOptionError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const program = Session.modify("count", (n) => (typeof n === "number" ? n : 0) + 1).pipe(
 *   Session.transaction,
 *   Effect.provide(Session.open("workflow-42")),
 *   Effect.provide(SessionStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: {
  (): Layer.Layer<SessionStore>
  (options: MemoryStoreOptions | undefined): Layer.Layer<SessionStore, SessionOptionError>
} = internal.layerMemory

/**
 * The memory store as a layer, its options read from `Config`; an invalid value is a `ConfigError`
 * (`InvalidData` at the option's name).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * const StoreLive = SessionStore.layerMemoryConfig({
 *   maxEntries: Config.integer("SESSION_MAX_ENTRIES").pipe(Config.withDefault(100_000)),
 *   maxBytes: Config.integer("SESSION_MAX_BYTES").pipe(Config.withDefault(128 * 1024 * 1024)),
 *   retainExpired: Config.duration("SESSION_RETAIN").pipe(Config.withDefault("1 hour"))
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemoryConfig: (
  options: Config.Config.Wrap<MemoryStoreOptions>
) => Layer.Layer<SessionStore, ConfigError.ConfigError> = internal.layerMemoryConfig

/**
 * Encodes a record to the JSON text that the serializing stores (file, SQL, Redis) keep. The text
 * carries a format version (`"v": 1`) so that records of older formats can be migrated on read.
 *
 * @example
 * ```ts
 * import { SessionStore } from "effect-session"
 *
 * // a store of your own that keeps text, e.g. in a key-value service
 * const text = SessionStore.encodeRecord({ data: { cart: ["sku-1"] }, version: 3, createdAt: 0, expiresAt: 60_000 })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const encodeRecord: (record: SessionRecord) => string = codec.encodeRecord

/**
 * Decodes the JSON text made by {@link encodeRecord}. Anything unreadable (corrupt text, a wrong
 * shape, an unknown format version) is `Option.none()`: per the store contract, the client then gets
 * a fresh session. Records of an older format go through `migrate` first.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * const text = SessionStore.encodeRecord({ data: { theme: "dark" }, version: 1, createdAt: 0, expiresAt: 60_000 })
 * SessionStore.decodeRecord(text) // Option.some(the record)
 * SessionStore.decodeRecord("{ corrupt") // Option.none(): a fresh session, not an error
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const decodeRecord: (text: string, migrate?: RecordMigration) => Option.Option<SessionRecord> =
  codec.decodeRecord

/**
 * A migration hook for stored records of an older format: given the parsed JSON of a record whose
 * `v` is not the current format, return the record in the current shape, or `undefined` to drop it
 * (fresh session).
 *
 * @example
 * ```ts
 * import { SessionStore } from "effect-session"
 *
 * // a hypothetical format 0 that kept the data under "values" and no creation time
 * const fromV0: SessionStore.RecordMigration = (stored) =>
 *   stored.v === 0 && typeof stored.values === "object" && stored.values !== null &&
 *     typeof stored.version === "number" && typeof stored.expiresAt === "number"
 *     ? {
 *       data: stored.values as { readonly [key: string]: unknown },
 *       version: stored.version,
 *       createdAt: stored.expiresAt,
 *       expiresAt: stored.expiresAt
 *     }
 *     : undefined
 *
 * const decode = (text: string) => SessionStore.decodeRecord(text, fromV0)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RecordMigration = (stored: { readonly [key: string]: unknown }) => SessionRecord | undefined

/**
 * Bounds every call of a store: one that has not answered within `duration` fails with a
 * `SessionStoreError` (a hanging backend never hangs a request). The network stores apply it by
 * default (their `timeout` option); use it for a store of your own. The duration is measured on the
 * fiber's `Clock` (`TestClock` in tests); a call that times out is interrupted without waiting for
 * it, and each call runs interruptibly, even inside a commit.
 *
 * The wrapper keeps the store's `list` (each call bounded the same way) and its `tentative`, and
 * drops its `sync`: the synchronous operations cannot be bounded, so the manager goes through the
 * bounded effects.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { SessionStore } from "effect-session"
 *
 * declare const myStore: SessionStore.SessionStoreService
 * const layer = Layer.succeed(SessionStore.SessionStore, SessionStore.withTimeout(myStore, "2 seconds"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeout: (store: SessionStoreService, duration: Duration.DurationInput) => SessionStoreService =
  storeTimeout.withTimeout
