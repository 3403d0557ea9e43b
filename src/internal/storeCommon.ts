import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { SessionStoreError, type SessionStoreOperation } from "../SessionError.js"

/** How long expired records are kept by default: as the memory store. @internal */
export const defaultRetainExpired: Duration.Duration = Duration.hours(1)

/** How long a network store may take to answer one call by default. @internal */
export const defaultTimeout: Duration.Duration = Duration.seconds(5)

/** How often the stores that purge on a schedule run it by default. @internal */
export const defaultPurgeInterval: Duration.Duration = Duration.minutes(5)

/** @internal */
export const retainMillis = (retainExpired: Duration.DurationInput | undefined): number => {
  const millis = Duration.toMillis(retainExpired ?? defaultRetainExpired)
  if (!(millis >= 0) || !Number.isFinite(millis)) {
    throw new RangeError("effect-session: retainExpired must be a finite, non-negative duration")
  }
  return millis
}

/** A driver failure as a `SessionStoreError`: store and operation only, the driver error as `cause`. @internal */
export const storeError = (store: string, operation: SessionStoreOperation) => (cause: unknown): SessionStoreError =>
  new SessionStoreError({ store, operation, cause })

/**
 * Runs `purge` every `interval` for as long as the current scope lives; a failed pass is logged (store
 * name and operation only) and the schedule goes on. An infinite interval disables it.
 *
 * @internal
 */
export const schedulePurge = (
  purge: Effect.Effect<number, SessionStoreError>,
  interval: Duration.DurationInput | undefined
): Effect.Effect<void, never, Scope.Scope> => {
  const every = Duration.decode(interval ?? defaultPurgeInterval)
  if (!Duration.isFinite(every)) return Effect.void
  if (Duration.toMillis(every) <= 0) {
    return Effect.die(new RangeError("effect-session: purgeInterval must be positive"))
  }
  const pass = Effect.catchAll(purge, (error) => Effect.logWarning(error.message))
  return Effect.asVoid(Effect.forkScoped(Effect.repeat(pass, Schedule.spaced(every)).pipe(Effect.delay(every))))
}
