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
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as internal from "./internal/session.js"
import type { SessionStoreError, SessionTimeout } from "./SessionError.js"
import type { SessionStore, SessionStoreService } from "./SessionStore.js"

/**
 * Expiry options of a session.
 *
 * - `idleTimeout`: the session expires when it was not saved for this long. Default: 30 minutes.
 * - `absoluteTimeout`: the session expires this long after it was created, however busy it is.
 *   Default: 8 hours. The earlier of the two deadlines wins.
 * - `touchInterval`: a unit that read the session without changing it saves it again (moving the
 *   idle deadline) only when the deadline would move by at least this much, so that read-only
 *   requests rarely write. Default: 1 minute.
 * - `lockTimeout`: units of one session run one at a time in a process (a lock per session, taken
 *   at the unit's first access, released when it ends); a unit waits at most this long for the
 *   lock, then fails with `SessionStoreError` (operation `lock`). Default: 5 seconds.
 * - `onConflict`: what a commit does when another process changed the session since the unit read
 *   it (see {@link ConflictPolicy}). Default: `merge`.
 * - `retryAttempts`: how many times in all a unit may run (policies `retry`,
 *   `merge-then-retry`), or how many merges are tried. Default: 3.
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
 * @since 0.1.0
 * @category models
 */
export type ConflictPolicy = "fail" | "retry" | "merge" | "merge-then-retry"

/**
 * The defaults of {@link SessionOptions}.
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
} = internal.defaults

/**
 * Options of {@link make}.
 *
 * - `id`: the id presented by the client or the workflow. None: a new session.
 * - `adoptUnknownId`: when the store does not hold `id`, use it as the id of the new session
 *   (`true`: a workflow that names its session) or replace it with a fresh random id (`false`, the
 *   default: anything a client sent, so that a client can never choose its id — fixation defence).
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions extends SessionOptions {
  readonly id?: string | undefined
  readonly adoptUnknownId?: boolean | undefined
}

/**
 * What a transport needs to know once the request is done: whether the session was touched, the
 * id under which it is stored now (if it is stored), whether it was saved (its id or expiry may have
 * changed), and its expiry.
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
 * @since 0.1.0
 * @category models
 */
export interface Committed extends internal.Committed {}

/**
 * The per-session handle.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionManagerService {
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
  /** For transports: what happened to the session during the request. */
  readonly outcome: () => Outcome
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SessionManager extends Context.Tag("effect-session/SessionManager")<
  SessionManager,
  SessionManagerService
>() {}

/**
 * Makes a manager on the `SessionStore` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: MakeOptions) => Effect.Effect<SessionManagerService, never, SessionStore> =
  internal.makeManager

/**
 * Makes a manager on the given store, synchronously (what the HTTP middleware does per request).
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (store: SessionStoreService, options?: MakeOptions) => SessionManagerService =
  internal.unsafeMakeManager

/**
 * A manager as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: MakeOptions): Layer.Layer<SessionManager, never, SessionStore> =>
  internal.layerManager(options ?? {}) as unknown as Layer.Layer<SessionManager, never, SessionStore>
