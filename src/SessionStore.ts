/**
 * The persistence contract of effect-session, and the memory store (the embedded default).
 *
 * The contract is small on purpose (like scs's `Store`): four operations, each with its rules
 * written down, so that a new backend is easy to write and easy to check with the conformance suite
 * that every store of this package passes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/memoryStore.js"
import * as codec from "./internal/record.js"
import * as storeTimeout from "./internal/storeTimeout.js"
import type { SessionConflict, SessionStoreError } from "./SessionError.js"

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
 * 4. `delete(id)` removes the record; deleting an absent id succeeds.
 * 5. Stored records are isolated: nothing the caller holds after `save` or receives from `load`
 *    shares mutable state with the store.
 * 6. `deleteByUser(userId)` removes every record bound to that user and returns how many; `purge`
 *    removes records that expired more than the store's retention ago and returns how many.
 * 7. No id and no data appear in error messages or logs.
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
 *     delete: (id) => Effect.sync(() => void records.delete(id)),
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
  readonly delete: (id: string) => Effect.Effect<void, SessionStoreError>
  readonly deleteByUser: (userId: string) => Effect.Effect<number, SessionStoreError>
  readonly purge: Effect.Effect<number, SessionStoreError>
}

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
export class SessionStore extends Context.Tag("effect-session/SessionStore")<SessionStore, SessionStoreService>() {}

/**
 * Options of the memory store.
 *
 * @example
 * ```ts
 * import { SessionStore } from "effect-session"
 *
 * const options: SessionStore.MemoryStoreOptions = { maxEntries: 10_000, retainExpired: "10 minutes" }
 * const StoreLive = SessionStore.layerMemory(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryStoreOptions {
  /**
   * The most sessions held at once. When a save would go over, the least recently written sessions
   * are evicted (expired ones first, as they are also the least recently written under one idle
   * timeout). Default: 100 000.
   */
  readonly maxEntries?: number | undefined
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
export const memoryStoreDefaults = {
  maxEntries: 100_000,
  sweepInterval: Duration.minutes(1),
  retainExpired: Duration.hours(1)
} as const

/**
 * A memory store, as {@link makeMemory} makes it: a {@link SessionStoreService} that can also tell
 * how many sessions it holds and sweep expired ones on demand (for tests and benchmarks).
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
  /** One sweep pass now, as the scheduled fiber does it; returns how many were removed. */
  readonly sweep: Effect.Effect<number>
}

/**
 * Makes a memory store in the current scope; its sweep fiber stops with the scope.
 *
 * Records are kept in compact, encoded form (one JSON string per session), so nothing the app holds
 * can reach them.
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
export const makeMemory: (options?: MemoryStoreOptions) => Effect.Effect<MemoryStore, never, Scope.Scope> =
  internal.makeMemory

/**
 * The memory store as a layer: the embedded default, for one process.
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
export const layerMemory: (options?: MemoryStoreOptions) => Layer.Layer<SessionStore> = internal.layerMemory

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
