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
import * as record from "./internal/record.js"
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
 * @since 0.1.0
 * @category tags
 */
export class SessionStore extends Context.Tag("effect-session/SessionStore")<SessionStore, SessionStoreService>() {}

/**
 * Options of the memory store.
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
  /** How often expired sessions are swept, by one fiber for the whole store. Default: 1 minute. */
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
 * @since 0.1.0
 * @category constructors
 */
export const memoryStoreDefaults = {
  maxEntries: 100_000,
  sweepInterval: Duration.minutes(1),
  retainExpired: Duration.hours(1)
} as const

/**
 * Makes a memory store in the current scope; its sweep fiber stops with the scope.
 *
 * Records are kept in compact, encoded form (one JSON string per session), so nothing the app holds
 * can reach them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: (
  options?: MemoryStoreOptions
) => Effect.Effect<SessionStoreService & internal.MemoryStoreInspect, never, Scope.Scope> = internal.makeMemory

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
 * @since 0.1.0
 * @category codecs
 */
export const encodeRecord: (record: SessionRecord) => string = record.encodeRecord

/**
 * Decodes the JSON text made by {@link encodeRecord}. Anything unreadable (corrupt text, a wrong
 * shape, an unknown format version) is `Option.none()`: per the store contract, the client then gets
 * a fresh session. Records of an older format go through `migrate` first.
 *
 * @since 0.1.0
 * @category codecs
 */
export const decodeRecord: (text: string, migrate?: RecordMigration) => Option.Option<SessionRecord> =
  record.decodeRecord

/**
 * A migration hook for stored records of an older format: given the parsed JSON of a record whose
 * `v` is not the current format, return the record in the current shape, or `undefined` to drop it
 * (fresh session).
 *
 * @since 0.1.0
 * @category codecs
 */
export type RecordMigration = record.RecordMigration

/**
 * Bounds every call of a store: one that has not answered within `duration` fails with a
 * `SessionStoreError` (a hanging backend never hangs a request). The network stores apply it by
 * default (their `timeout` option); use it for a store of your own.
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
