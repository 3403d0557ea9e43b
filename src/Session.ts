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
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HashMap from "effect/HashMap"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as sessionKeys from "./internal/keys.js"
import * as runner from "./internal/runner.js"
import * as tags from "./internal/tags.js"
import * as unit from "./internal/unit.js"
import * as SessionError from "./SessionError.js"
import type {
  SessionConflict,
  SessionDataError,
  SessionOptionError,
  SessionStateError,
  SessionStoreError,
  SessionTimeout
} from "./SessionError.js"
import type { SessionManager, SessionManagerService, SessionOptions } from "./SessionManager.js"
import type { SessionStore } from "./SessionStore.js"

/**
 * A JSON value: what a plain string key holds, and what every value is stored as.
 *
 * @example
 * ```ts
 * import { Session } from "effect-session"
 *
 * const preferences: Session.Json = { theme: "dark", pageSize: 20, tags: ["beta"] }
 * const save = Session.set("preferences", preferences)
 * const load = Session.get("preferences") // an Option<Session.Json>: a string key holds JSON
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * A typed session key: its value is encoded with `schema` when it is set and decoded when it is
 * read. Stored data that does not decode is a `SessionDataError` naming the key.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Theme: Session.SessionKey<"light" | "dark"> = Session.key("theme", Schema.Literal("light", "dark"))
 * console.log(Theme.name) // "theme"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type SessionKey<A, I = A> = {
  readonly [sessionKeys.KeyTypeId]: KeyTypeId
  /** The name the value is stored under. */
  readonly name: string
  /** Encodes the value on `set`, decodes it on read. */
  readonly schema: Schema.Schema<A, I, never>
}

// The type ids are declared as "the symbol key of the type" rather than as `typeof` the internal
// constant, and `SessionKey` / `Savepoint` are object types rather than interfaces (TypeDoc reads
// an object type's members from the source, an interface's from the checker, which names the
// internal constant): so the public module alone describes them. The types are exactly those of
// internal/session.ts, the very same unique symbols.

/**
 * The property that marks a {@link SessionKey}.
 *
 * @example
 * ```ts
 * import { Predicate } from "effect"
 * import { Session } from "effect-session"
 *
 * const isSessionKey = (u: unknown): u is Session.SessionKey<unknown, unknown> =>
 *   Predicate.hasProperty(u, Session.KeyTypeId)
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export const KeyTypeId: KeyTypeId = sessionKeys.KeyTypeId

/**
 * The type of {@link KeyTypeId}.
 *
 * @example
 * ```ts
 * import { Session } from "effect-session"
 *
 * const typeId: Session.KeyTypeId = Session.KeyTypeId
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export type KeyTypeId = Extract<keyof SessionKey<unknown>, symbol>

/**
 * A key: a typed {@link SessionKey}, or a plain string whose values are JSON.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const keyName = (key: Session.Key): string => typeof key === "string" ? key : key.name
 *
 * // removes every key that is set, of those given
 * const removeAll = (keys: ReadonlyArray<Session.Key>) => Effect.forEach(keys, Session.remove, { discard: true })
 * const logout = removeAll(["user", Session.key("roles", Schema.Array(Schema.String))])
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Key = SessionKey<any, any> | string

/**
 * The value type behind a key: the schema's type for a typed key, {@link Json} for a string.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Cart = Session.key("cart", Schema.Array(Schema.String))
 *
 * type Cart = Session.ValueOf<typeof Cart> // ReadonlyArray<string>
 * type Anything = Session.ValueOf<"notes"> // Session.Json
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ValueOf<K> = K extends SessionKey<infer A, any> ? A : Json

/**
 * What `set` accepts for a key: the schema's type for a typed key; anything for a string key, checked
 * at `set` to be JSON-compatible (a function, a class instance, a cycle, `NaN` or `undefined` is
 * refused with a `SessionDataError`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // sets a key only when it is not set yet
 * const setOnce = <K extends Session.Key>(key: K, value: Session.InputOf<K>) =>
 *   Effect.flatMap(Session.has(key), (set) => set ? Effect.void : Session.set(key, value))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type InputOf<K> = K extends SessionKey<infer A, any> ? A : unknown

/**
 * The error of reading a key: `SessionDataError` for a typed key (its stored value may not decode).
 *
 * @example
 * ```ts
 * import type { Effect, Option } from "effect"
 * import { Session, type SessionError } from "effect-session"
 *
 * type ReadResult<K extends Session.Key> = Effect.Effect<
 *   Option.Option<Session.ValueOf<K>>,
 *   Session.ReadError<K> | SessionError.SessionStoreError, // SessionDataError only for a typed key
 *   Session.Session
 * >
 *
 * const read = <K extends Session.Key>(key: K): ReadResult<K> => Session.get(key)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ReadError<K> = K extends SessionKey<any, any> ? SessionDataError : never

/**
 * The state of a unit of work: `open` until it commits (`committed`) or is discarded (`aborted`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const canWrite = Effect.map(Session.status, (status: Session.Status) => status === "open")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Status = "open" | "committed" | "aborted"

/**
 * A savepoint of a unit of work (Zope `transaction` semantics): `rollback` restores the data as it
 * was when the savepoint was taken, and may be called any number of times; it invalidates every
 * savepoint taken after this one. A rollback to an invalidated savepoint, or after the unit was
 * committed or aborted, fails with `SessionStateError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // tries a step; on failure, the session is as it was before the step
 * const attempt = <A, E, R>(step: Effect.Effect<A, E, R>) =>
 *   Effect.gen(function*() {
 *     const sp: Session.Savepoint = yield* Session.savepoint
 *     return yield* step.pipe(Effect.tapError(() => sp.rollback))
 *   })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Savepoint = {
  readonly [unit.SavepointTypeId]: SavepointTypeId
  /** Restores the unit's data to this point; may be called many times while the savepoint is valid. */
  readonly rollback: Effect.Effect<void, SessionStateError>
  /** Whether a rollback to this savepoint is still possible. */
  readonly valid: Effect.Effect<boolean>
}

/**
 * The property that marks a {@link Savepoint}.
 *
 * @example
 * ```ts
 * import { Predicate } from "effect"
 * import { Session } from "effect-session"
 *
 * const isSavepoint = (u: unknown): u is Session.Savepoint => Predicate.hasProperty(u, Session.SavepointTypeId)
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export const SavepointTypeId: SavepointTypeId = unit.SavepointTypeId

/**
 * The type of {@link SavepointTypeId}.
 *
 * @example
 * ```ts
 * import { Session } from "effect-session"
 *
 * const typeId: Session.SavepointTypeId = Session.SavepointTypeId
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export type SavepointTypeId = Extract<keyof Savepoint, symbol>

/**
 * One unit of work on a session: the service of the {@link Session} tag. Each operation is also a
 * function of this module (`Session.get(key)` is `session.get(key)` on the current unit). Values are
 * immutable: what `get` returns is deeply frozen.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // hand the unit to code that does not use the context
 * const rememberPage = (unit: Session.SessionService, page: string) => unit.set("lastPage", page)
 *
 * const program = Effect.flatMap(Session.Session, (unit) => rememberPage(unit, "/cart"))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionService {
  /** The session this unit works on. */
  readonly manager: SessionManagerService
  /** The unit's state. */
  readonly status: Effect.Effect<Status>
  /** Reads a key. */
  readonly get: <K extends Key>(key: K) => Effect.Effect<Option.Option<ValueOf<K>>, ReadError<K> | SessionStoreError>
  /** Reads a key, or the value of `orElse` when it is not set. */
  readonly getOrElse: <K extends Key>(
    key: K,
    orElse: () => ValueOf<K>
  ) => Effect.Effect<ValueOf<K>, ReadError<K> | SessionStoreError>
  /** Reads a key; when it is not set, sets it to the value of `orElse` and returns that. */
  readonly getOrSet: <K extends Key>(
    key: K,
    orElse: () => InputOf<K>
  ) => Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError>
  /** Whether a key is set. */
  readonly has: (key: Key) => Effect.Effect<boolean, SessionStoreError>
  /** Sets a key. */
  readonly set: <K extends Key>(
    key: K,
    value: InputOf<K>
  ) => Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError>
  /** Sets a key to `f(current)` and returns the new value. */
  readonly modify: <K extends Key>(
    key: K,
    f: (current: Option.Option<ValueOf<K>>) => InputOf<K>
  ) => Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError>
  /** Removes a key. */
  readonly remove: (key: Key) => Effect.Effect<void, SessionStateError | SessionStoreError>
  /** Removes every key. */
  readonly clear: Effect.Effect<void, SessionStateError | SessionStoreError>
  /** The keys that are set. */
  readonly keys: Effect.Effect<ReadonlyArray<string>, SessionStoreError>
  /** All values in stored form (JSON), by key. */
  readonly entries: Effect.Effect<HashMap.HashMap<string, Json>, SessionStoreError>
  /** Takes a savepoint. */
  readonly savepoint: Effect.Effect<Savepoint, SessionStateError | SessionStoreError>
  /** Drops the unit's changes now. */
  readonly abort: Effect.Effect<void, SessionStateError>
  /** On commit, moves the session to a new id. */
  readonly regenerate: Effect.Effect<void, SessionStateError | SessionStoreError>
  /** Clears the data now and deletes the stored session on commit. */
  readonly destroy: Effect.Effect<void, SessionStateError | SessionStoreError>
  /** Binds the session to a user id, or unbinds it with `undefined`. */
  readonly bindUser: (userId: string | undefined) => Effect.Effect<void, SessionStateError | SessionStoreError>
  /** The user the session is bound to. */
  readonly userId: Effect.Effect<Option.Option<string>, SessionStoreError>
  readonly rememberFor: (
    lifetime: Duration.DurationInput | null
  ) => Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError>
}

/**
 * The current unit of work. Provided by {@link transaction}, by {@link layer}, or by the HTTP
 * middleware.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const summary = Effect.gen(function*() {
 *   const session = yield* Session.Session
 *   const keys = yield* session.keys
 *   return `${keys.length} keys, unit ${yield* session.status}`
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export interface Session {
  readonly _: unique symbol
}

/**
 * The tag of the current unit of work (see {@link Session}). What requires it says so in its type;
 * at run time, where nothing provides a unit (an HTTP handler under `HttpSession.middleware`), the
 * tag's default is the unit of the request in context, so the HTTP layers need not put it in the
 * context. Outside any unit and any request, using it is a defect that says what to provide.
 *
 * @since 0.1.0
 * @category tags
 */
export const Session: Context.Tag<Session, SessionService> = tags.SessionTag

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
export const key: <A, I>(name: string, schema: Schema.Schema<A, I, never>) => SessionKey<A, I> = sessionKeys.key

const withSession = <A, E>(f: (session: SessionService) => Effect.Effect<A, E>): Effect.Effect<A, E, Session> =>
  Effect.flatMap(Session, f)

/**
 * Reads a key.
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const UserId = Session.key("userId", Schema.String)
 *
 * const greeting = Effect.map(
 *   Session.get(UserId),
 *   Option.match({ onNone: () => "Hello, guest", onSome: (id) => `Hello, ${id}` })
 * )
 * ```
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
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Cart = Session.key("cart", Schema.Array(Schema.String))
 * const cart = Session.getOrElse(Cart, () => []) // ReadonlyArray<string>
 * ```
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
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const CsrfToken = Session.key("csrf", Schema.String)
 * const csrfToken = Session.getOrSet(CsrfToken, () => crypto.randomUUID()) // the same token for the whole session
 * ```
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
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const requireLogin = Effect.flatMap(
 *   Session.has("userId"),
 *   (loggedIn) => loggedIn ? Effect.void : Effect.fail("not logged in" as const)
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const has = (key: Key): Effect.Effect<boolean, SessionStoreError, Session> => withSession((s) => s.has(key))

/**
 * Sets a key. The value is encoded (typed key) and checked to be JSON-compatible now, not at commit.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Locale = Session.key("locale", Schema.Literal("en", "fr", "de"))
 *
 * const chooseFrench = Session.set(Locale, "fr")
 * const rememberFilter = Session.set("filter", { status: "open", page: 2 }) // a string key holds JSON
 * ```
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
 * @example
 * ```ts
 * import { Session } from "effect-session"
 *
 * const dismissBanner = Session.remove("flashMessage")
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const remove = (key: Key): Effect.Effect<void, SessionStateError | SessionStoreError, Session> =>
  withSession((s) => s.remove(key))

/**
 * Removes every key (the session itself stays; see {@link destroy}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // start the wizard over, in the same session
 * const restartWizard = Session.clear.pipe(Effect.zipRight(Session.set("step", 1)))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const clear: Effect.Effect<void, SessionStateError | SessionStoreError, Session> = withSession((s) => s.clear)

/**
 * The keys that are set.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const isEmpty = Effect.map(Session.keys, (keys) => keys.length === 0)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const keys: Effect.Effect<ReadonlyArray<string>, SessionStoreError, Session> = withSession((s) => s.keys)

/**
 * All values in stored form (JSON), by key: the unit's current snapshot.
 *
 * @example
 * ```ts
 * import { Effect, HashMap } from "effect"
 * import { Session } from "effect-session"
 *
 * // a debug view of the session
 * const dump = Effect.map(Session.entries, (entries) => JSON.stringify(Object.fromEntries(HashMap.toEntries(entries))))
 * ```
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
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // a dry run: compute the new total, keep nothing
 * const preview = Effect.gen(function*() {
 *   const total = yield* Session.modify("total", (n) => (typeof n === "number" ? n : 0) + 10)
 *   yield* Session.abort
 *   return total
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const abort: Effect.Effect<void, SessionStateError, Session> = withSession((s) => s.abort)

/**
 * On commit, moves the session to a new id, keeping its data, and deletes the old id. Call it when
 * the privilege level changes (log in): it defeats session fixation.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const login = (userId: string) =>
 *   Effect.all([Session.regenerate, Session.set("userId", userId), Session.bindUser(userId)], { discard: true })
 * ```
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
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const logout = Session.destroy.pipe(Effect.zipRight(Session.set("flash", "You are logged out")))
 * ```
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
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const login = (userId: string) => Session.regenerate.pipe(Effect.zipRight(Session.bindUser(userId)))
 *
 * // later, e.g. after a password change: every session of the user is gone
 * const logoutEverywhere = (userId: string) =>
 *   Effect.flatMap(SessionStore.SessionStore, (store) => store.deleteByUser(userId))
 * ```
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
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Session } from "effect-session"
 *
 * const currentUser = Effect.flatMap(
 *   Session.userId,
 *   Option.match({ onNone: () => Effect.fail("unauthorized" as const), onSome: Effect.succeed })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const userId: Effect.Effect<Option.Option<string>, SessionStoreError, Session> = withSession((s) => s.userId)

/**
 * The state of the current unit: `open`, `committed` or `aborted`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const logStatus = Effect.flatMap(Session.status, (status) => Effect.log(`unit of work: ${status}`))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const status: Effect.Effect<Status, never, Session> = withSession((s) => s.status)

/**
 * Fails with the `SessionTimeout` when the session that was presented had expired (the unit then
 * runs on a fresh session). For code that wants to act on expiry, e.g. redirect to a login page.
 *
 * @example
 * ```ts
 * import { HttpServerResponse } from "@effect/platform"
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const privatePage = Effect.gen(function*() {
 *   yield* Session.failIfExpired
 *   return HttpServerResponse.text("welcome back")
 * }).pipe(Effect.catchTag("SessionTimeout", () => Effect.succeed(HttpServerResponse.redirect("/login?expired=1"))))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const failIfExpired: Effect.Effect<void, SessionTimeout | SessionStoreError, SessionManager> = Effect.flatMap(
  tags.SessionManagerTag,
  (m) => m.failIfExpired
)

/**
 * The `SessionTimeout` of the presented session, as a value.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Session } from "effect-session"
 *
 * const banner = Effect.map(
 *   Session.expired,
 *   Option.match({
 *     onNone: () => "",
 *     onSome: (timeout) => timeout.reason === "Idle" ? "You were away too long." : "Please log in again."
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const expired: Effect.Effect<Option.Option<SessionTimeout>, SessionStoreError, SessionManager> = Effect.flatMap(
  tags.SessionManagerTag,
  (m) => m.expired
)

/**
 * Runs `self` as one unit of work on the session of the `SessionManager` in context: it commits
 * when `self` succeeds, and is discarded when `self` fails, dies or is interrupted. A failed commit
 * (`SessionStoreError`, `SessionConflict`) is a typed error of the returned effect.
 *
 * Inside an open unit, `transaction` nests: it takes a savepoint, rolls back to it if `self` fails,
 * and keeps the changes if `self` succeeds (as `@effect/sql`'s nested `withTransaction`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const applyCoupon = (code: string) =>
 *   Effect.gen(function*() {
 *     yield* Session.set("coupon", code)
 *     if (code !== "WELCOME10") return yield* Effect.fail("invalid coupon" as const)
 *   }).pipe(Session.transaction) // nested: a savepoint, rolled back when the coupon is refused
 *
 * const checkout = Effect.gen(function*() {
 *   yield* Session.set("step", "checkout")
 *   yield* applyCoupon("EXPIRED").pipe(Effect.ignore) // "coupon" is not set, "step" is kept
 * }).pipe(
 *   Session.transaction, // the unit of work: commits when checkout succeeds
 *   Effect.provide(Session.open("customer-7")),
 *   Effect.provide(SessionStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const transaction: <A, E, R>(
  self: Effect.Effect<A, E, R>
) => Effect.Effect<A, E | SessionStoreError | SessionConflict, Exclude<R, Session> | SessionManager> =
  runner.transaction

/**
 * The unit of work as a scoped layer (`Effect.acquireRelease`): the release commits when the scope
 * closes with success, and discards on failure or interruption.
 *
 * A finalizer cannot fail with a typed error, so a commit that fails in this form is a **defect**
 * (`SessionCommitFailed`, carrying the `SessionStoreError` or `SessionConflict`): the program that
 * used the layer dies, never silently losing the data. Prefer {@link transaction}, where a failed
 * commit is a typed error.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const UnitLive = Session.layer.pipe(
 *   Layer.provide(Session.open("nightly-report")),
 *   Layer.provide(SessionStore.layerMemory())
 * )
 *
 * // commits when the layer is released
 * const program = Session.set("lastRun", Date.now()).pipe(Effect.provide(UnitLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Session, never, SessionManager> = runner.layer

/**
 * The defect of a commit that failed when the {@link layer} was released: an `Error` whose `error`
 * is the `SessionStoreError` or `SessionConflict` of the commit.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const program = Session.set("lastRun", Date.now()).pipe(
 *   Effect.provide(Session.layer),
 *   Effect.provide(Session.open("nightly-report")),
 *   Effect.provide(SessionStore.layerMemory()),
 *   Effect.catchAllDefect((defect) =>
 *     defect instanceof Session.SessionCommitFailed
 *       ? Effect.logError(`not saved: ${defect.error.message}`)
 *       : Effect.die(defect)
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const SessionCommitFailed: typeof SessionError.SessionCommitFailed = SessionError.SessionCommitFailed

/**
 * The instance type of {@link SessionCommitFailed}.
 *
 * @example
 * ```ts
 * import { Session } from "effect-session"
 *
 * const describe = (defect: Session.SessionCommitFailed): string =>
 *   defect.error._tag === "SessionConflict" ? "changed concurrently" : "store unavailable"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionCommitFailed = SessionError.SessionCommitFailed

/**
 * Runs `self` as a reader of the session: its units read the latest durable snapshot without
 * waiting for the session's lock, so a reader never waits for a writer (nor for another reader).
 * A reader that writes after all takes the lock at its first write, and its commit checks that what
 * it read is still current: a change made meanwhile goes to the conflict policy. HTTP requests of a
 * safe method (GET, HEAD, OPTIONS) are readers already; use this for workflows, or around a unit
 * that only reads.
 *
 * | unit                        | waits for                 | a racing writer meanwhile               |
 * |-----------------------------|---------------------------|-----------------------------------------|
 * | reader (`readOnly`, GET…)   | nothing                   | the reader sees the last durable data   |
 * | reader that writes          | the lock, at its 1st write | its commit conflicts: the policy decides |
 * | writer (default, POST…)     | the lock, at its 1st access | queued: it never conflicts in-process  |
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Cart = Session.key("cart", Schema.Array(Schema.String))
 *
 * // a dashboard read that never waits for a checkout in progress on the same session
 * const cartSize = Session.get(Cart).pipe(
 *   Effect.map(Option.match({ onNone: () => 0, onSome: (items) => items.length })),
 *   Session.transaction,
 *   Session.readOnly
 * )
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const readOnly: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = runner.readOnly

/**
 * When the session expires if nothing else happens (express-session's `cookie.expires`): the
 * deadline of its last committed state, the earlier of the idle and the absolute deadline. A unit
 * that saves moves it, and so does a read after `touchInterval`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // "you will be signed out in N minutes"
 * const minutesLeft = Effect.gen(function*() {
 *   const expiresAt = yield* Session.expiresAt
 *   return Math.floor((expiresAt.getTime() - Date.now()) / 60_000)
 * })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const expiresAt: Effect.Effect<Date, SessionStoreError, SessionManager> = Effect.flatMap(
  tags.SessionManagerTag,
  (m) => m.expiresAt
)

/**
 * "Remember me": gives this session a lifetime of its own, chosen in the handler (express-session's
 * `req.session.cookie.maxAge = …`). From the unit's commit on, the session's idle timeout is
 * `lifetime` (its absolute lifetime at least as long), and over HTTP its cookie is persistent, with
 * a `Max-Age` that follows the session's expiry. `null` goes back to the layer's options and a
 * browser-session cookie. The choice is stored with the session's data (as express-session stores
 * its `cookie`), so every store keeps it; `Session.keys` and `Session.entries` do not show it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const login = (user: string, remember: boolean) =>
 *   Effect.gen(function*() {
 *     yield* Session.set("user", user)
 *     yield* Session.regenerate
 *     if (remember) yield* Session.rememberFor("30 days")
 *   })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const rememberFor = (
  lifetime: Duration.DurationInput | null
): Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError, Session> =>
  withSession((s) => s.rememberFor(lifetime))

/**
 * Typed keys for every field of a struct: the whole session typed at once, for code coming from
 * express-session's `SessionData` declaration. Each field is a key of its own (read and written
 * alone, merged by key on a conflict), named after the field.
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * // instead of `declare module "express-session" { interface SessionData { ... } }`
 * const S = Session.keysFrom(Schema.Struct({
 *   userId: Schema.String,
 *   cart: Schema.Array(Schema.String),
 *   visits: Schema.Number
 * }))
 *
 * const visit = Effect.gen(function*() {
 *   const visits = yield* Session.modify(S.visits, (n) => Option.getOrElse(n, () => 0) + 1)
 *   const cart = yield* Session.getOrElse(S.cart, () => [])
 *   return `${visits} visits, ${cart.length} items`
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const keysFrom = <Fields extends { readonly [name: string]: Schema.Schema<any, any, never> }>(
  struct: Schema.Struct<Fields> | Fields
): {
  readonly [K in keyof Fields & string]: SessionKey<Schema.Schema.Type<Fields[K]>, Schema.Schema.Encoded<Fields[K]>>
} => {
  // a struct schema, or its fields: a plain record of schemas is never a schema itself
  const fields = (Schema.isSchema(struct) ? (struct as Schema.Struct<Fields>).fields : struct) as Fields
  const out: Record<string, SessionKey<unknown, unknown>> = {}
  for (const name of Object.keys(fields)) out[name] = sessionKeys.key(name, fields[name]!)
  return out as {
    readonly [K in keyof Fields & string]: SessionKey<Schema.Schema.Type<Fields[K]>, Schema.Schema.Encoded<Fields[K]>>
  }
}

/**
 * Opens the session with the given id on the `SessionStore` in context, for a workflow. When the
 * store does not hold `id`, the new session takes that id; when it held an expired session, the new
 * session gets a fresh id and {@link expired} reports the timeout.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * // a background job that keeps its progress in a session named after the job
 * const runJob = (jobId: string) =>
 *   Session.modify("runs", (n) => (typeof n === "number" ? n : 0) + 1).pipe(
 *     Session.transaction,
 *     Effect.provide(Session.open(`job-${jobId}`, { idleTimeout: "7 days" }))
 *   )
 *
 * const program = runJob("42").pipe(Effect.provide(SessionStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const open = (
  id: string,
  options?: SessionOptions
): Layer.Layer<SessionManager, SessionOptionError, SessionStore> =>
  runner.layerManager({ ...options, id, adoptUnknownId: true })

/**
 * Opens a new session (a fresh random id) on the `SessionStore` in context.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Session, SessionManager, SessionStore } from "effect-session"
 *
 * // starts a session and gives its id, e.g. to send to a client
 * const start = Effect.gen(function*() {
 *   yield* Session.set("startedAt", Date.now()).pipe(Session.transaction)
 *   const manager = yield* SessionManager.SessionManager
 *   return Redacted.value(yield* manager.id)
 * }).pipe(Effect.provide(Session.openNew()), Effect.provide(SessionStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const openNew = (options?: SessionOptions): Layer.Layer<SessionManager, SessionOptionError, SessionStore> =>
  runner.layerManager({ ...options })
