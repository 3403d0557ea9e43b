/**
 * The typed errors of effect-session. Every one of them is a tagged error that lives in the error
 * channel, so `Effect.catchTag("SessionTimeout", ...)` and friends work as usual.
 *
 * None of them prints a session id or session data in its `message`: the id of an expired session
 * travels as a `Redacted` value, and data only as a field that the app reads on purpose.
 *
 * @since 0.1.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Data from "effect/Data"
import type * as HashMap from "effect/HashMap"
import * as Inspectable from "effect/Inspectable"
import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * The property that marks every error of this module (see {@link isSessionError}).
 *
 * @example
 * ```ts
 * import { Predicate } from "effect"
 * import { SessionError } from "effect-session"
 *
 * const fromThisLibrary = (u: unknown): boolean => Predicate.hasProperty(u, SessionError.TypeId)
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-session/SessionError")

/**
 * The type of {@link TypeId}.
 *
 * @example
 * ```ts
 * import { SessionError } from "effect-session"
 *
 * const typeId: SessionError.TypeId = SessionError.TypeId
 * ```
 *
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
 * - `OutsideUnit`: a write where no unit of work is open: in an `HttpSession.manual` handler,
 *   outside its own `Session.transaction`s.
 *
 * @example
 * ```ts
 * import { SessionError } from "effect-session"
 *
 * const explain = (reason: SessionError.SessionStateErrorReason): string =>
 *   reason === "WriteNotAllowed" ? "the unit of work is already closed" : "the savepoint is no longer valid"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionStateErrorReason = "WriteNotAllowed" | "InvalidSavepoint" | "OutsideUnit"

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
      case "OutsideUnit":
        return "No unit of work is open here: this handler runs its own units (HttpSession.manual), so wrap the session's writes in Session.transaction"
    }
  }
}

/**
 * Why a session expired: `Idle` when it was not used for longer than the idle timeout, `Absolute`
 * when it outlived its absolute lifetime. When both deadlines passed, the earlier one is reported.
 *
 * @example
 * ```ts
 * import { SessionError } from "effect-session"
 *
 * const notice = (reason: SessionError.SessionTimeoutReason): string =>
 *   reason === "Idle" ? "You were signed out after a period of inactivity." : "Please sign in again."
 * ```
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
 * @example
 * ```ts
 * import { Effect, HashMap } from "effect"
 * import { Session } from "effect-session"
 *
 * // keep the cart of an expired session: copy it into the fresh one
 * const restoreCart = Session.failIfExpired.pipe(
 *   Effect.catchTag("SessionTimeout", (timeout) =>
 *     Effect.forEach(HashMap.get(timeout.data, "cart"), (cart) => Session.set("cart", cart)).pipe(
 *       Session.transaction
 *     ))
 * )
 * ```
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
  /**
   * The data the expired session held (stored form: JSON values). It is the app's to read, not the
   * logs': a logged, printed or JSON-encoded error leaves it out.
   */
  readonly data: HashMap.HashMap<string, unknown>
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override toJSON(): unknown {
    return { _tag: this._tag, sessionId: this.sessionId, expiredAt: this.expiredAt, reason: this.reason }
  }

  /**
   * @since 0.1.0
   */
  override [Inspectable.NodeInspectSymbol](): unknown {
    return inspectRedacted(this)
  }

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
 * The operation of a `SessionStore` that failed (`lock`: the wait for the session's lock timed out;
 * `list`, `count` and `clear`: the store's listing, see `SessionStore.list`).
 *
 * @example
 * ```ts
 * import { SessionError } from "effect-session"
 *
 * const isTransient = (operation: SessionError.SessionStoreOperation): boolean =>
 *   operation === "lock" || operation === "load" || operation === "save"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionStoreOperation =
  | "load"
  | "save"
  | "delete"
  | "deleteByUser"
  | "purge"
  | "connect"
  | "lock"
  | "list"
  | "count"
  | "clear"

/**
 * The session store failed: the backend is down, timed out, or answered something unusable. The
 * `cause` carries the driver's error; the message names the store and operation only.
 *
 * A driver's error may hold what it was asked (ioredis keeps a failed command's keys and arguments,
 * a file system error the file's path): the session's id and data. So the error, logged, printed or
 * turned into JSON, shows only the cause's kind (its `_tag` or name, and its `reason` or `code`);
 * `error.cause` itself is there for the app to inspect.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { Session } from "effect-session"
 *
 * // retry a unit of work a few times while the store is briefly unavailable
 * const save = Session.set("draft", "...").pipe(
 *   Session.transaction,
 *   Effect.retry({
 *     while: (e) => e._tag === "SessionStoreError",
 *     schedule: Schedule.exponential("100 millis"),
 *     times: 3
 *   })
 * )
 * ```
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

  /**
   * @since 0.1.0
   */
  override toJSON(): unknown {
    return {
      _tag: this._tag,
      store: this.store,
      operation: this.operation,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.cause === undefined ? {} : { cause: causeKind(this.cause) })
    }
  }

  /**
   * @since 0.1.0
   */
  override [Inspectable.NodeInspectSymbol](): unknown {
    return inspectRedacted(this)
  }
}

/**
 * How an error that holds ids or data (`SessionTimeout.data`, `SessionStoreError.cause`) shows in
 * `util.inspect`: its stack, then what its `toJSON` keeps. Logs and JSON go through `toJSON`.
 */
const inspectRedacted = (error: Error & { toJSON(): unknown }): string =>
  `${error.stack ?? `${error.name}: ${error.message}`}\n${Inspectable.format(error.toJSON())}`

/** A cause's kind, never its message or fields (which may hold ids, keys or data). */
const causeKind = (cause: unknown): string => {
  if (typeof cause !== "object" || cause === null) return typeof cause
  const { _tag, code, name, reason } = cause as Record<string, unknown>
  const kind = typeof _tag === "string" ? _tag : typeof name === "string" ? name : "object"
  const detail = typeof reason === "string" ? reason : typeof code === "string" || typeof code === "number" ? code : ""
  return detail === "" ? kind : `${kind} (${detail})`
}

/**
 * A commit found that the session was changed by someone else since this unit of work read it (the
 * store's compare-and-set on the record version failed), and the conflict policy could not resolve
 * it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * const addItem = (sku: string) =>
 *   Session.modify("items", (items) => [...(Array.isArray(items) ? items : []), sku]).pipe(
 *     Session.transaction,
 *     Effect.catchTag("SessionConflict", () => Effect.fail("please reload the page and try again" as const))
 *   )
 * ```
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
 * An option given to a layer or constructor of this library is invalid: a layer built with it fails
 * with this error (options read from `Config` fail with a `ConfigError` instead). It names the option
 * and says what is expected, never the value (which may be a secret).
 *
 * @example
 * ```ts
 * import { Duration, Effect, Layer } from "effect"
 * import { Session, SessionStore } from "effect-session"
 *
 * const program = Effect.void.pipe(
 *   Effect.provide(Layer.provide(Session.openNew({ idleTimeout: Duration.zero }), SessionStore.layerMemory())),
 *   Effect.catchTag("SessionOptionError", (e) => Effect.logError(e.message))
 * )
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class SessionOptionError extends Data.TaggedError("SessionOptionError")<{
  /** The option's name, as the user wrote it (for example `idleTimeout` or `cookie.name`). */
  readonly option: string
  /** What the option must be. */
  readonly detail: string
}> {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `effect-session: invalid option ${this.option}: ${this.detail}`
  }
}

/**
 * A commit that failed when a `Session.layer` scope closed. A finalizer cannot fail, so the layer
 * form turns the failure into this defect (never silence); `Session.transaction` gives the same
 * failure as a typed error instead, and is the form to prefer.
 *
 * @example
 * ```ts
 * import { Cause, Effect, Exit, Option } from "effect"
 * import { SessionError } from "effect-session"
 *
 * const commitFailed = <A, E>(exit: Exit.Exit<A, E>): boolean =>
 *   Exit.isFailure(exit) &&
 *   Option.exists(Cause.dieOption(exit.cause), (defect) => defect instanceof SessionError.SessionCommitFailed)
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class SessionCommitFailed extends Data.TaggedError("SessionCommitFailed")<{
  /** The commit's failure. */
  readonly error: SessionStoreError | SessionConflict
}> {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Session commit failed when the Session layer was released: ${this.error.message}`
  }
}

/**
 * Why a {@link SessionDataError} was raised.
 *
 * - `Decode`: the stored value of a typed key does not decode with its schema.
 * - `Encode`: the value given to a typed key does not encode with its schema.
 * - `NotJson`: the value (or the encoded value of a typed key) is not JSON-compatible, so it could
 *   not be stored.
 * - `TooLarge`: with the value, the session's data would be larger than its `maxBytes` option.
 *
 * @example
 * ```ts
 * import { SessionError } from "effect-session"
 *
 * // a value that no longer decodes after a schema change is not worth an error page
 * const isStale = (error: SessionError.SessionDataError): boolean => error.reason === "Decode"
 * const reasons: ReadonlyArray<SessionError.SessionDataErrorReason> = ["Decode", "Encode", "NotJson"]
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionDataErrorReason = "Decode" | "Encode" | "NotJson" | "TooLarge"

/**
 * A value could not be stored in, or read from, the session under `key`.
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Cart = Session.key("cart", Schema.Array(Schema.String))
 *
 * // stored data that no longer decodes (e.g. after a schema change): start over with an empty cart
 * const cart = Session.get(Cart).pipe(
 *   Effect.catchTag("SessionDataError", (error) =>
 *     Effect.as(Session.remove(error.key), Option.none()))
 * )
 * ```
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
      : this.reason === "TooLarge"
      ? "value would make the session larger than its maxBytes"
      : "value is not JSON-compatible"
    return `Session key "${this.key}": ${what}${this.detail ? ` (${this.detail})` : ""}`
  }
}

// ---------------------------------------------------------------------------------------------
// the sealed cookie's size error and HttpApi's declared error (once outside SessionError)
// ---------------------------------------------------------------------------------------------

/**
 * A sealed cookie (the session data in the cookie, `HttpSession.layerSealed`) over its limit:
 * browsers drop a cookie whose name and value are over 4096 bytes without a word, so the commit
 * fails instead, as a `SessionStoreError` (operation `save`) whose `cause` is this error: `length`
 * is the sealed value's length in characters, `maxLength` the limit it went over. Also re-exported
 * as `SealedCookieTooLarge` by `effect-session/HttpSession/SealedCookie`.
 *
 * @example
 * ```ts
 * import { SessionError } from "effect-session"
 *
 * const overBy = (error: SessionError.SealedCookieTooLarge): number => error.length - error.maxLength
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SealedCookieTooLarge
  extends Data.TaggedError("SealedCookieTooLarge")<{ readonly length: number; readonly maxLength: number }>
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `Sealed session cookie is ${this.length} characters, over the limit of ${this.maxLength}`
  }
}

/**
 * The declared `HttpApi` error (503) for a session store that failed under a handler, or a commit
 * that failed: add it to the endpoints (or groups) that use the session, and map the session's
 * errors with `HttpSession.orUnavailable`. Also re-exported as `HttpSession.SessionUnavailable`.
 *
 * @example
 * ```ts
 * import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { Schema } from "effect"
 * import { HttpSession, SessionError } from "effect-session"
 *
 * const Cart = HttpApiGroup.make("cart")
 *   .add(HttpApiEndpoint.get("count", "/count").addSuccess(Schema.Number))
 *   .addError(SessionError.SessionUnavailable)
 *   .middleware(HttpSession.ApiSession)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionUnavailable extends Schema.TaggedError<SessionUnavailable>()(
  "SessionUnavailable",
  {},
  HttpApiSchema.annotations({ status: 503 })
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * Whether a value is one of the errors of this module.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, SessionError } from "effect-session"
 *
 * const logged = Session.set("k", 1).pipe(
 *   Effect.tapError((error) => SessionError.isSessionError(error) ? Effect.logWarning(error.message) : Effect.void)
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const isSessionError = (
  u: unknown
): u is
  | SessionStateError
  | SessionTimeout
  | SessionStoreError
  | SessionConflict
  | SessionDataError
  | SessionOptionError
  | SessionCommitFailed
  | SealedCookieTooLarge
  | SessionUnavailable => Predicate.hasProperty(u, TypeId)
