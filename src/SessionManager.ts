/**
 * The session across units of work: its id, whether it is new, its last committed data and
 * version, and whether the session that was presented had expired. One per HTTP request (the
 * middleware makes it) or per workflow (`Session.open(id)`).
 *
 * The manager loads the session lazily: nothing is read from the store until a unit of work (or
 * the app, through this service) first needs the data.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as HashMap from "effect/HashMap"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as options_ from "./internal/options.js"
import * as runner from "./internal/runner.js"
import * as tags from "./internal/tags.js"
import type { Json } from "./Session.js"
import type { SessionOptionError, SessionStoreError, SessionTimeout } from "./SessionError.js"
import type { SessionStore, SessionStoreService } from "./SessionStore.js"

/**
 * Expiry options of a session.
 *
 * - `idleTimeout`: the session expires when it was not saved for this long. Default: 30 minutes.
 * - `absoluteTimeout`: the session expires this long after it was created, however busy it is.
 *   Default: 8 hours. The earlier of the two deadlines wins.
 * - `touchInterval`: a unit that read the session without changing it saves it again (moving the
 *   idle deadline) only when the deadline would move by at least this much, so that read-only
 *   requests rarely write. Default: 1 minute, or half the idle timeout when that is shorter.
 *   `Duration.infinity`: reads never move the deadline (only saves do; express-session's
 *   `rolling: false` with no `touch`).
 * - `lockTimeout`: writers of one session run one at a time in a process (a lock per session, taken
 *   at a writer's first access, or a reader's first write, released when the unit ends); a unit
 *   waits at most this long for the lock, then fails with `SessionStoreError` (operation `lock`).
 *   Default: 5 seconds.
 * - `maxBytes`: the most the session's data may hold, as UTF-8 bytes of its JSON. A write that would
 *   pass it fails with `SessionDataError` (reason `TooLarge`) and changes nothing: a session is
 *   never silently cut short, and a huge value cannot make every later request of the session slow.
 *   Default: 262,144 (256 KiB); `Infinity` for no limit.
 * - `onConflict`: what a commit does when another process changed the session since the unit read
 *   it (see {@link ConflictPolicy}). Default: `merge`.
 * - `retryAttempts`: how many times in all a unit may run (policies `retry`,
 *   `merge-then-retry`), or how many merges are tried. Default: 3.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionManager, SessionStore } from "effect-session"
 *
 * const options: SessionManager.SessionOptions = {
 *   idleTimeout: "15 minutes",
 *   absoluteTimeout: "12 hours",
 *   onConflict: "retry",
 *   retryAttempts: 5
 * }
 *
 * const program = Session.set("seen", true).pipe(
 *   Session.transaction,
 *   Effect.provide(Session.open("kiosk-3", options)),
 *   Effect.provide(SessionStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionOptions {
  readonly idleTimeout?: Duration.DurationInput | undefined
  readonly absoluteTimeout?: Duration.DurationInput | undefined
  readonly touchInterval?: Duration.DurationInput | undefined
  readonly lockTimeout?: Duration.DurationInput | undefined
  readonly onConflict?: ConflictPolicy | undefined
  readonly retryAttempts?: number | undefined
  readonly maxBytes?: number | undefined
}

/**
 * How a commit resolves a conflict with another writer (detected by the store's compare-and-set):
 *
 * - `fail`: the unit fails with `SessionConflict` (HTTP: 409).
 * - `retry`: the whole unit runs again on fresh data, after a small jittered backoff, up to
 *   `retryAttempts` runs in all (Zope's `transaction.manager.attempts`). For HTTP the handler runs
 *   again: its other side effects must be idempotent.
 * - `merge`: a three-way merge by key against the snapshot the unit started from: when the keys this
 *   unit changed were not changed by the other writer, the merged record is committed; otherwise
 *   the unit fails with `SessionConflict`.
 * - `merge-then-retry`: `merge`, and `retry` when the merge is not possible.
 *
 * @example
 * ```ts
 * import { Session, SessionManager } from "effect-session"
 *
 * // a payment step must never run twice: fail on a conflict instead of retrying the unit
 * const policy: SessionManager.ConflictPolicy = "fail"
 * const PaymentSession = Session.open("checkout-91", { onConflict: policy })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ConflictPolicy = "fail" | "retry" | "merge" | "merge-then-retry"

/**
 * The defaults of {@link SessionOptions}.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { SessionManager } from "effect-session"
 *
 * console.log(Duration.format(SessionManager.defaults.idleTimeout)) // "30m"
 *
 * // twice the default idle timeout
 * const relaxed = { idleTimeout: Duration.times(SessionManager.defaults.idleTimeout, 2) }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: {
  readonly idleTimeout: Duration.Duration
  readonly absoluteTimeout: Duration.Duration
  readonly touchInterval: Duration.Duration
  readonly lockTimeout: Duration.Duration
  readonly onConflict: ConflictPolicy
  readonly retryAttempts: number
  readonly maxBytes: number
} = options_.defaults

/**
 * Options of {@link make}: the session's options, and either no id (a new session) or an id with
 * an explicit choice of what happens when the store does not hold it:
 *
 * - `id`: the id presented by the client or the workflow.
 * - `adoptUnknownId` (required with `id`): when the store does not hold `id`, or held an expired
 *   session under it, use it as the id of the new session (`true`: a workflow that names its
 *   session, what `Session.open(id)` does) or replace it with a fresh random id (`false`: anything a
 *   client sent, so that a client can never choose its id — fixation defence, what the HTTP
 *   middleware does). There is no default: the two entry points differ here, and the type says so.
 *
 * @example
 * ```ts
 * import { SessionManager } from "effect-session"
 *
 * // an id a client sent: used only if the store holds it, otherwise replaced by a fresh one
 * const fromClient = (id: string): SessionManager.MakeOptions => ({ id, adoptUnknownId: false })
 *
 * // an id the app chose (a workflow): adopted even when the store does not hold it yet
 * const fromWorkflow = (id: string): SessionManager.MakeOptions => ({ id, adoptUnknownId: true, idleTimeout: "1 day" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type MakeOptions =
  & SessionOptions
  & (
    | { readonly id?: undefined; readonly adoptUnknownId?: undefined }
    | { readonly id: string; readonly adoptUnknownId: boolean }
    | { readonly id: string | undefined; readonly adoptUnknownId: boolean }
  )

/**
 * What a transport needs to know once the request is done: whether the session was touched, the
 * id under which it is stored now (if it is stored), whether it was saved (its id or expiry may have
 * changed), and its expiry.
 *
 * @example
 * ```ts
 * import { Effect, Option, Redacted } from "effect"
 * import { SessionManager } from "effect-session"
 *
 * // what a custom transport does once the handler is done
 * const sessionHeader = Effect.map(SessionManager.SessionManager, (manager) => {
 *   const outcome: SessionManager.Outcome = manager.outcome()
 *   return outcome.saved ? Option.map(outcome.id, Redacted.value) : Option.none()
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly touched: boolean
  readonly id: Option.Option<Redacted.Redacted<string>>
  readonly saved: boolean
  readonly expiresAt: number
}

/**
 * The manager's last committed view of the session.
 *
 * @example
 * ```ts
 * import { Clock, Effect } from "effect"
 * import { SessionManager } from "effect-session"
 *
 * const minutesLeft = Effect.gen(function*() {
 *   const manager = yield* SessionManager.SessionManager
 *   const committed: SessionManager.Committed = yield* manager.committed
 *   const now = yield* Clock.currentTimeMillis
 *   return Math.floor((committed.expiresAt - now) / 60_000)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Committed {
  /** The session's id. */
  readonly id: string
  /** The stored version: 0 when the session is not stored (a new session). */
  readonly version: number
  /** When the session was created, in epoch milliseconds. */
  readonly createdAt: number
  /** When the session expires, in epoch milliseconds. */
  readonly expiresAt: number
  /** The user the session is bound to, if any. */
  readonly userId: string | undefined
  /** The committed values in stored form (JSON), by key. */
  readonly data: HashMap.HashMap<string, Json>
}

/**
 * The per-session handle: the service of the {@link SessionManager} tag.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionManager } from "effect-session"
 *
 * const describe = (manager: SessionManager.SessionManagerService) =>
 *   Effect.map(manager.isNew, (isNew) => isNew ? "a new session" : `a session of store ${manager.store.name}`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionManagerService {
  /**
   * The store the session lives in. In an HTTP handler (under the middleware) it is the store of
   * the request's session, reached through the request: its `name` is `"request"` and it declares
   * none of the optional capabilities (`sync`, `list`, `tentative`).
   */
  readonly store: SessionStoreService
  /** The session's current id (a new session gets its id on first access). */
  readonly id: Effect.Effect<Redacted.Redacted<string>, SessionStoreError>
  /** Whether the session was created by this manager (nothing was stored under the presented id). */
  readonly isNew: Effect.Effect<boolean, SessionStoreError>
  /** The expiry of the presented session, as a value. */
  readonly expired: Effect.Effect<Option.Option<SessionTimeout>, SessionStoreError>
  /** Fails with the `SessionTimeout` when the presented session had expired. */
  readonly failIfExpired: Effect.Effect<void, SessionTimeout | SessionStoreError>
  /** The last committed state (loads the session on first use). */
  readonly committed: Effect.Effect<Committed, SessionStoreError>
  /**
   * When the session expires if nothing else happens: the deadline of the last committed state
   * (a commit that saves moves it). A new session that was never saved has the deadline it would
   * get if it were saved now.
   */
  readonly expiresAt: Effect.Effect<Date, SessionStoreError>
  /** For transports: what happened to the session during the request. */
  readonly outcome: () => Outcome
}

/**
 * The session of the current request or workflow, across its units of work. Provided by the HTTP
 * middleware, by `Session.open` / `Session.openNew`, or by {@link layer}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionManager } from "effect-session"
 *
 * const auditEntry = Effect.gen(function*() {
 *   const manager = yield* SessionManager.SessionManager
 *   const isNew = yield* manager.isNew
 *   return { newSession: isNew, store: manager.store.name } // never log the id itself
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export interface SessionManager {
  readonly _: unique symbol
}

/**
 * The tag of the session manager (see {@link SessionManager}). As with `Session.Session`, where
 * nothing provides one (an HTTP handler under `HttpSession.middleware`), the tag's default is the
 * manager of the request in context.
 *
 * @since 0.1.0
 * @category tags
 */
export const SessionManager: Context.Tag<SessionManager, SessionManagerService> = tags.SessionManagerTag

/**
 * Makes a manager on the `SessionStore` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionManager, SessionStore } from "effect-session"
 *
 * const program = Effect.gen(function*() {
 *   const manager = yield* SessionManager.make({ id: "import-2024-06", adoptUnknownId: true })
 *   yield* Session.set("rows", 1200).pipe(
 *     Session.transaction,
 *     Effect.provideService(SessionManager.SessionManager, manager)
 *   )
 * }).pipe(Effect.provide(SessionStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: MakeOptions
) => Effect.Effect<SessionManagerService, SessionOptionError, SessionStore> = runner.makeManager

/**
 * Makes a manager on the given store, synchronously (what the HTTP middleware does per request).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionManager, SessionStore } from "effect-session"
 *
 * // a custom transport: one manager per incoming message, for the id the message carries
 * const handle = (sessionId: string | undefined) =>
 *   Effect.gen(function*() {
 *     const store = yield* SessionStore.SessionStore
 *     const manager = SessionManager.unsafeMake(store, { id: sessionId, adoptUnknownId: false })
 *     return yield* Session.modify("messages", (n) => (typeof n === "number" ? n : 0) + 1).pipe(
 *       Session.transaction,
 *       Effect.provideService(SessionManager.SessionManager, manager)
 *     )
 *   })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (store: SessionStoreService, options?: MakeOptions) => SessionManagerService =
  runner.unsafeMakeManager

/**
 * A manager as a layer.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Session, SessionManager, SessionStore } from "effect-session"
 *
 * const ManagerLive = SessionManager.layer({ id: "tenant-7", adoptUnknownId: true }).pipe(
 *   Layer.provide(SessionStore.layerMemory())
 * )
 *
 * const program = Session.set("plan", "pro").pipe(Session.transaction, Effect.provide(ManagerLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: MakeOptions): Layer.Layer<SessionManager, SessionOptionError, SessionStore> =>
  runner.layerManager(options)
