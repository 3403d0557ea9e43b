import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { SessionOptionError, SessionStoreError, type SessionStoreOperation } from "../SessionError.js"

/** How long expired records are kept by default: as the memory store. @internal */
export const defaultRetainExpired: Duration.Duration = Duration.hours(1)

/** How long a network store may take to answer one call by default. @internal */
export const defaultTimeout: Duration.Duration = Duration.seconds(5)

/** How often the stores that purge on a schedule run it by default. @internal */
export const defaultPurgeInterval: Duration.Duration = Duration.minutes(5)

const checkDuration = (
  option: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration,
  valid: (d: Duration.Duration) => boolean,
  detail: string
): Effect.Effect<Duration.Duration, SessionOptionError> => {
  const decoded = input === undefined ? Option.some(fallback) : Duration.decodeUnknown(input)
  return Option.isSome(decoded) && valid(decoded.value)
    ? Effect.succeed(decoded.value)
    : Effect.fail(new SessionOptionError({ option, detail }))
}

/** The `retainExpired` option in milliseconds, or a `SessionOptionError` naming it. @internal */
export const retainOption = (
  retainExpired: Duration.DurationInput | undefined
): Effect.Effect<number, SessionOptionError> =>
  Effect.map(
    checkDuration("retainExpired", retainExpired, defaultRetainExpired, Duration.isFinite, "must be a finite duration"),
    Duration.toMillis
  )

/** The `timeout` option of a network store, or a `SessionOptionError` naming it. @internal */
export const timeoutOption = (
  timeout: Duration.DurationInput | undefined
): Effect.Effect<Duration.Duration, SessionOptionError> =>
  checkDuration(
    "timeout",
    timeout,
    defaultTimeout,
    (d) => Duration.isFinite(d) && Duration.toMillis(d) > 0,
    "must be a positive, finite duration"
  )

/**
 * The retention in milliseconds, thrown as a `RangeError` when invalid: for the sealed cookie, whose
 * constructors are not effects. The stores use {@link retainOption}.
 *
 * @internal
 */
export const retainMillis = (retainExpired: Duration.DurationInput | undefined): number => {
  const millis = Duration.toMillis(retainExpired ?? defaultRetainExpired)
  if (!(millis >= 0) || !Number.isFinite(millis)) {
    throw new RangeError("effect-session: retainExpired must be a finite, non-negative duration")
  }
  return millis
}

/**
 * A store's options read from `Config` follow the rule of `Config`: an invalid value is a
 * `ConfigError` (at the option's name), not a `SessionOptionError`.
 *
 * @internal
 */
export const optionsFromConfig = <A, E, R>(
  effect: Effect.Effect<A, E | SessionOptionError, R>
): Effect.Effect<A, Exclude<E, SessionOptionError> | ConfigError.ConfigError, R> =>
  Effect.catchIf(
    effect,
    (e): e is SessionOptionError => e instanceof SessionOptionError,
    (e) => Effect.fail(ConfigError.InvalidData([e.option], e.detail))
  )

/** A driver failure as a `SessionStoreError`: store and operation only, the driver error as `cause`. @internal */
export const storeError = (store: string, operation: SessionStoreOperation) => (cause: unknown): SessionStoreError =>
  new SessionStoreError({ store, operation, cause })

/**
 * Runs `purge` every `interval` for as long as the current scope lives; a failed pass is logged (store
 * name and operation only) and the schedule goes on. An infinite interval disables it; one that is
 * not positive is a `SessionOptionError` naming `purgeInterval`.
 *
 * @internal
 */
export const schedulePurge = (
  purge: Effect.Effect<number, SessionStoreError>,
  interval: Duration.DurationInput | undefined
): Effect.Effect<void, SessionOptionError, Scope.Scope> =>
  Effect.flatMap(
    checkDuration(
      "purgeInterval",
      interval,
      defaultPurgeInterval,
      (d) => Duration.toMillis(d) > 0,
      "must be a positive duration (Duration.infinity turns the purge off)"
    ),
    (every) => {
      if (!Duration.isFinite(every)) return Effect.void
      const pass = Effect.catchAll(purge, (error) => Effect.logWarning(error.message))
      return Effect.asVoid(Effect.forkScoped(Effect.repeat(pass, Schedule.spaced(every)).pipe(Effect.delay(every))))
    }
  )
