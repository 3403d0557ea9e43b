/**
 * The typed errors of effect-session. Every one of them is a tagged error that lives in the error
 * channel, so `Effect.catchTag("SessionTimeout", ...)` and friends work as usual.
 *
 * None of them prints a session id or session data in its `message`: the id of an expired session
 * travels as a `Redacted` value, and data only as a field that the app reads on purpose.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as HashMap from "effect/HashMap"
import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-session/SessionError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Why a {@link SessionStateError} was raised.
 *
 * - `WriteNotAllowed`: a write on a unit of work that is not open (committed, aborted or closed).
 * - `InvalidSavepoint`: a rollback to a savepoint that was invalidated (by a rollback to an earlier
 *   savepoint, or by the commit or abort of its unit).
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionStateErrorReason = "WriteNotAllowed" | "InvalidSavepoint"

/**
 * The unit of work is in a state that does not allow the operation: a write after the unit was
 * committed or aborted, or a rollback to an invalidated savepoint.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // a unit's handle leaked out of its transaction refuses writes
 * const program = Effect.gen(function*() {
 *   const unit = yield* Session.transaction(Session.Session)
 *   const error = yield* Effect.flip(unit.set("late", true))
 *   console.log(error.message) // "Session's current state disallows writing"
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStateError extends Data.TaggedError("SessionStateError")<{
  readonly reason: SessionStateErrorReason
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    switch (this.reason) {
      case "WriteNotAllowed":
        return "Session's current state disallows writing"
      case "InvalidSavepoint":
        return "Savepoint is no longer valid: it was invalidated by a rollback to an earlier savepoint, or its unit of work was closed"
    }
  }
}

/**
 * Why a session expired: `Idle` when it was not used for longer than the idle timeout, `Absolute`
 * when it outlived its absolute lifetime. When both deadlines passed, the earlier one is reported.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionTimeoutReason = "Idle" | "Absolute"

/**
 * The session that the client (or the workflow) presented had expired. The app was given a fresh
 * session with a new id; this value tells it what was lost, like cromlech.wsgistate's
 * `TimeoutException`: the old id (redacted), when it expired, why, and the expired data.
 *
 * It is available as a value (`SessionManager.expired`) and, for code that asks for it, in the
 * error channel (`SessionManager.failIfExpired`, `Session.failIfExpired`).
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionTimeout extends Data.TaggedError("SessionTimeout")<{
  /** The id of the expired session. */
  readonly sessionId: Redacted.Redacted<string>
  /** When the session expired, in epoch milliseconds (from `Clock`). */
  readonly expiredAt: number
  readonly reason: SessionTimeoutReason
  /** The data the expired session held (stored form: JSON values). */
  readonly data: HashMap.HashMap<string, unknown>
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Session expired (${this.reason === "Idle" ? "idle timeout" : "absolute lifetime"}) at ${
      new Date(this.expiredAt).toISOString()
    }`
  }
}

/**
 * The operation of a {@link SessionStore} that failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionStoreOperation = "load" | "save" | "delete" | "deleteByUser" | "purge" | "connect" | "lock"

/**
 * The session store failed: the backend is down, timed out, or answered something unusable. The
 * `cause` carries the driver's error; the message names the store and operation only.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStoreError extends Data.TaggedError("SessionStoreError")<{
  readonly store: string
  readonly operation: SessionStoreOperation
  readonly cause?: unknown
  readonly detail?: string
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Session store "${this.store}" failed on ${this.operation}${this.detail ? `: ${this.detail}` : ""}`
  }
}

/**
 * A commit found that the session was changed by someone else since this unit of work read it (the
 * store's compare-and-set on the record version failed), and the conflict policy could not resolve
 * it.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionConflict extends Data.TaggedError("SessionConflict")<{
  readonly store: string
  readonly expectedVersion: number
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Session was changed concurrently (store "${this.store}", expected version ${this.expectedVersion})`
  }
}

/**
 * Why a {@link SessionDataError} was raised.
 *
 * - `Decode`: the stored value of a typed key does not decode with its schema.
 * - `Encode`: the value given to a typed key does not encode with its schema.
 * - `NotJson`: the value (or the encoded value of a typed key) is not JSON-compatible, so it could
 *   not be stored.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionDataErrorReason = "Decode" | "Encode" | "NotJson"

/**
 * A value could not be stored in, or read from, the session under `key`.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionDataError extends Data.TaggedError("SessionDataError")<{
  readonly key: string
  readonly reason: SessionDataErrorReason
  readonly cause?: unknown
  readonly detail?: string
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    const what = this.reason === "Decode"
      ? "stored value does not decode with the key's schema"
      : this.reason === "Encode"
      ? "value does not encode with the key's schema"
      : "value is not JSON-compatible"
    return `Session key "${this.key}": ${what}${this.detail ? ` (${this.detail})` : ""}`
  }
}

/**
 * @since 0.1.0
 * @category refinements
 */
export const isSessionError = (
  u: unknown
): u is SessionStateError | SessionTimeout | SessionStoreError | SessionConflict | SessionDataError =>
  Predicate.hasProperty(u, TypeId)
