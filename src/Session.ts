/**
 * A session as a unit of work.
 *
 * A unit begins from the session's last committed data, is changed through the operations of this
 * module, and ends in one of two ways: it **commits** when the effect it wraps succeeds, and it is
 * **discarded** when that effect fails (a typed error or a defect) or is interrupted. Inside a unit,
 * savepoints mark points to roll back to, `abort` drops its changes at once, and a nested
 * `transaction` is a savepoint that is rolled back if the nested effect fails.
 *
 * | what happens              | data afterwards                      | writes afterwards    |
 * | ------------------------- | ------------------------------------ | -------------------- |
 * | the effect succeeds       | committed to the store               | `SessionStateError`  |
 * | the effect fails / dies   | discarded: the last committed data   | `SessionStateError`  |
 * | the fiber is interrupted  | discarded                            | `SessionStateError`  |
 * | `abort`                   | discarded now                        | `SessionStateError`  |
 * | `savepoint` + `rollback`  | as at the savepoint                  | allowed              |
 *
 * Reads always work; on a closed unit they show the data it ended with (committed or discarded).
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * const visit = Effect.gen(function*() {
 *   const n = yield* Session.modify(Visits, (current) => Option.getOrElse(current, () => 0) + 1)
 *   return `visit number ${n}`
 * })
 *
 * const program = visit.pipe(
 *   Session.transaction, // commit on success, discard on failure
 *   Effect.provide(Session.open("user-42")), // the session, by id, from any workflow
 *   Effect.provide(SessionStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as HashMap from "effect/HashMap"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { Json as Json_ } from "./internal/json.js"
import * as internal from "./internal/session.js"
import type {
  SessionConflict,
  SessionDataError,
  SessionStateError,
  SessionStoreError,
  SessionTimeout
} from "./SessionError.js"
import type { SessionManager, SessionOptions } from "./SessionManager.js"
import type { SessionStore } from "./SessionStore.js"

/**
 * A JSON value: what a plain string key holds, and what every value is stored as.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = Json_

/**
 * A typed session key: its value is encoded with `schema` when it is set and decoded when it is
 * read. Stored data that does not decode is a `SessionDataError` naming the key.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionKey<A, I = A> extends internal.SessionKey<A, I> {}

/**
 * A key: a typed {@link SessionKey}, or a plain string whose values are JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type Key = internal.AnyKey

/**
 * The value type behind a key: the schema's type for a typed key, {@link Json} for a string.
 *
 * @since 0.1.0
 * @category models
 */
export type ValueOf<K> = internal.ValueOf<K>

/**
 * What `set` accepts for a key: the schema's type for a typed key; anything for a string key, checked
 * at `set` to be JSON-compatible (a function, a class instance, a cycle, `NaN` or `undefined` is
 * refused with a `SessionDataError`).
 *
 * @since 0.1.0
 * @category models
 */
export type InputOf<K> = internal.InputOf<K>

/**
 * The error of reading a key: `SessionDataError` for a typed key (its stored value may not decode).
 *
 * @since 0.1.0
 * @category models
 */
export type ReadError<K> = internal.ReadError<K>

/**
 * The state of a unit of work.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = internal.UnitStatus

/**
 * A savepoint of a unit of work (Zope `transaction` semantics): `rollback` restores the data as it
 * was when the savepoint was taken, and may be called any number of times; it invalidates every
 * savepoint taken after this one. A rollback to an invalidated savepoint, or after the unit was
 * committed or aborted, fails with `SessionStateError`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Savepoint extends internal.Savepoint {}

/**
 * One unit of work on a session. Values are immutable: what `get` returns is deeply frozen.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionService extends internal.Session {}

/**
 * The current unit of work. Provided by {@link transaction}, by {@link layer}, or by the HTTP
 * middleware.
 *
 * @since 0.1.0
 * @category tags
 */
export class Session extends Context.Tag("effect-session/Session")<Session, SessionService>() {}

/**
 * Makes a typed key.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Cart = Session.key("cart", Schema.Array(Schema.Struct({ sku: Schema.String, qty: Schema.Int })))
 * const LastSeen = Session.key("lastSeen", Schema.DateFromNumber) // a Date, stored as a number
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const key: <A, I>(name: string, schema: Schema.Schema<A, I, never>) => SessionKey<A, I> = internal.key

const withSession = <A, E>(f: (session: SessionService) => Effect.Effect<A, E>): Effect.Effect<A, E, Session> =>
  Effect.flatMap(Session, f)

/**
 * Reads a key.
 *
 * @since 0.1.0
 * @category combinators
 */
export const get = <K extends Key>(
  key: K
): Effect.Effect<Option.Option<ValueOf<K>>, ReadError<K> | SessionStoreError, Session> => withSession((s) => s.get(key))

/**
 * Reads a key, or the value of `orElse` when it is not set.
 *
 * @since 0.1.0
 * @category combinators
 */
export const getOrElse = <K extends Key>(
  key: K,
  orElse: () => ValueOf<K>
): Effect.Effect<ValueOf<K>, ReadError<K> | SessionStoreError, Session> => withSession((s) => s.getOrElse(key, orElse))

/**
 * Reads a key; when it is not set, sets it to the value of `orElse` and returns that (Python's
 * `setdefault`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const getOrSet = <K extends Key>(
  key: K,
  orElse: () => InputOf<K>
): Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError, Session> =>
  withSession((s) => s.getOrSet(key, orElse))

/**
 * Whether a key is set.
 *
 * @since 0.1.0
 * @category combinators
 */
export const has = (key: Key): Effect.Effect<boolean, SessionStoreError, Session> => withSession((s) => s.has(key))

/**
 * Sets a key. The value is encoded (typed key) and checked to be JSON-compatible now, not at commit.
 *
 * @since 0.1.0
 * @category combinators
 */
export const set = <K extends Key>(
  key: K,
  value: InputOf<K>
): Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError, Session> =>
  withSession((s) => s.set(key, value))

/**
 * Sets a key to `f(current)` and returns the new value.
 *
 * @example
 * ```ts
 * import { Option, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Count = Session.key("count", Schema.Number)
 * const increment = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const modify = <K extends Key>(
  key: K,
  f: (current: Option.Option<ValueOf<K>>) => InputOf<K>
): Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError, Session> =>
  withSession((s) => s.modify(key, f))

/**
 * Removes a key.
 *
 * @since 0.1.0
 * @category combinators
 */
export const remove = (key: Key): Effect.Effect<void, SessionStateError | SessionStoreError, Session> =>
  withSession((s) => s.remove(key))

/**
 * Removes every key (the session itself stays; see {@link destroy}).
 *
 * @since 0.1.0
 * @category combinators
 */
export const clear: Effect.Effect<void, SessionStateError | SessionStoreError, Session> = withSession((s) => s.clear)

/**
 * The keys that are set.
 *
 * @since 0.1.0
 * @category combinators
 */
export const keys: Effect.Effect<ReadonlyArray<string>, SessionStoreError, Session> = withSession((s) => s.keys)

/**
 * All values in stored form (JSON), by key: the unit's current snapshot.
 *
 * @since 0.1.0
 * @category combinators
 */
export const entries: Effect.Effect<HashMap.HashMap<string, Json>, SessionStoreError, Session> = withSession((s) =>
  s.entries
)

/**
 * Takes a savepoint of the current unit.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const step = Effect.gen(function*() {
 *   yield* Session.set("step", 1)
 *   const sp = yield* Session.savepoint
 *   yield* Session.set("step", 2)
 *   yield* sp.rollback // "step" is 1 again
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const savepoint: Effect.Effect<Savepoint, SessionStateError | SessionStoreError, Session> = withSession((s) =>
  s.savepoint
)

/**
 * Drops the current unit's changes now. The unit then refuses writes; when its effect ends, there
 * is nothing to commit.
 *
 * @since 0.1.0
 * @category combinators
 */
export const abort: Effect.Effect<void, SessionStateError, Session> = withSession((s) => s.abort)

/**
 * On commit, moves the session to a new id, keeping its data, and deletes the old id. Call it when
 * the privilege level changes (log in): it defeats session fixation.
 *
 * @since 0.1.0
 * @category combinators
 */
export const regenerate: Effect.Effect<void, SessionStateError | SessionStoreError, Session> = withSession((s) =>
  s.regenerate
)

/**
 * Clears the data now and, on commit, deletes the stored session (the transport then expires the
 * cookie). What the unit writes after `destroy` starts a new session with a new id.
 *
 * @since 0.1.0
 * @category combinators
 */
export const destroy: Effect.Effect<void, SessionStateError | SessionStoreError, Session> = withSession((s) =>
  s.destroy
)

/**
 * Binds the session to a user id (or unbinds it with `undefined`), so that
 * `SessionStore.deleteByUser` can revoke every session of that user ("log out everywhere").
 *
 * @since 0.1.0
 * @category combinators
 */
export const bindUser = (
  userId: string | undefined
): Effect.Effect<void, SessionStateError | SessionStoreError, Session> => withSession((s) => s.bindUser(userId))

/**
 * The user the session is bound to.
 *
 * @since 0.1.0
 * @category combinators
 */
export const userId: Effect.Effect<Option.Option<string>, SessionStoreError, Session> = withSession((s) => s.userId)

/**
 * The state of the current unit: `open`, `committed` or `aborted`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const status: Effect.Effect<Status, never, Session> = withSession((s) => s.status)

/**
 * Fails with the `SessionTimeout` when the session that was presented had expired (the unit then
 * runs on a fresh session). For code that wants to act on expiry, e.g. redirect to a login page.
 *
 * @since 0.1.0
 * @category combinators
 */
export const failIfExpired: Effect.Effect<void, SessionTimeout | SessionStoreError, SessionManager> = Effect.flatMap(
  internal.SessionManagerTag,
  (m) => m.failIfExpired
) as any

/**
 * The `SessionTimeout` of the presented session, as a value.
 *
 * @since 0.1.0
 * @category combinators
 */
export const expired: Effect.Effect<Option.Option<SessionTimeout>, SessionStoreError, SessionManager> = Effect
  .flatMap(
    internal.SessionManagerTag,
    (m) => m.expired
  ) as any

/**
 * Runs `self` as one unit of work on the session of the `SessionManager` in context: it commits
 * when `self` succeeds, and is discarded when `self` fails, dies or is interrupted. A failed commit
 * (`SessionStoreError`, `SessionConflict`) is a typed error of the returned effect.
 *
 * Inside an open unit, `transaction` nests: it takes a savepoint, rolls back to it if `self` fails,
 * and keeps the changes if `self` succeeds (as `@effect/sql`'s nested `withTransaction`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const transaction: <A, E, R>(
  self: Effect.Effect<A, E, R>
) => Effect.Effect<A, E | SessionStoreError | SessionConflict, Exclude<R, Session> | SessionManager> = internal
  .transaction as any

/**
 * The unit of work as a scoped layer (`Effect.acquireRelease`): the release commits when the scope
 * closes with success, and discards on failure or interruption.
 *
 * A finalizer cannot fail with a typed error, so a commit that fails in this form is a **defect**
 * (`SessionCommitFailed`, carrying the `SessionStoreError` or `SessionConflict`): the program that
 * used the layer dies, never silently losing the data. Prefer {@link transaction}, where a failed
 * commit is a typed error.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Session, never, SessionManager> = internal.layer as any

/**
 * The defect of a commit that failed when the {@link layer} was released.
 *
 * @since 0.1.0
 * @category errors
 */
export const SessionCommitFailed: typeof internal.SessionCommitFailed = internal.SessionCommitFailed

/**
 * @since 0.1.0
 * @category errors
 */
export type SessionCommitFailed = internal.SessionCommitFailed

/**
 * Opens the session with the given id on the `SessionStore` in context, for a workflow. When the
 * store does not hold `id`, the new session takes that id; when it held an expired session, the new
 * session gets a fresh id and {@link expired} reports the timeout.
 *
 * @since 0.1.0
 * @category layers
 */
export const open = (id: string, options?: SessionOptions): Layer.Layer<SessionManager, never, SessionStore> =>
  internal.layerManager({ ...options, id, adoptUnknownId: true }) as any

/**
 * Opens a new session (a fresh random id) on the `SessionStore` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const openNew = (options?: SessionOptions): Layer.Layer<SessionManager, never, SessionStore> =>
  internal.layerManager({ ...options }) as any
