/**
 * The metrics effect-session records, as Effect `Metric`s: read them with `Metric.value`, or export
 * them with `@effect/opentelemetry` like any other Effect metric. None carries an id or data.
 *
 * Spans: `effect-session.load` (attributes `session.store`, `session.found`) around every store
 * load, and `effect-session.commit` (`session.store`, `session.outcome`: `saved`, `created`,
 * `merged`, `touched`, `regenerated`, `destroyed`, `conflict`, `error`) around every commit that
 * had something to do. Spans are made when the app installed a tracer (e.g. `@effect/opentelemetry`'s
 * `NodeSdk.layer`); under Effect's built-in tracer, whose spans nobody exports, they are skipped to
 * keep every request's path short. Debug-level logs mark expiry and failed commits.
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import * as internal from "./internal/metrics.js"

/**
 * New sessions saved for the first time.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * const created = Effect.map(Metric.value(SessionMetrics.sessionsCreated), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const sessionsCreated: Metric.Metric.Counter<number> = internal.sessionsCreated

/**
 * Units of work whose commit wrote to the store.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * const commitRate = Effect.gen(function*() {
 *   const committed = yield* Metric.value(SessionMetrics.unitsCommitted)
 *   const discarded = yield* Metric.value(SessionMetrics.unitsDiscarded)
 *   return committed.count / Math.max(1, committed.count + discarded.count)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const unitsCommitted: Metric.Metric.Counter<number> = internal.unitsCommitted

/**
 * Units of work that had read or changed the session and were discarded (failure, defect,
 * interruption, abort, a 4xx/5xx answer).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * const logDiscarded = Effect.flatMap(
 *   Metric.value(SessionMetrics.unitsDiscarded),
 *   (state) => Effect.log(`${state.count} units of work discarded`)
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const unitsDiscarded: Metric.Metric.Counter<number> = internal.unitsDiscarded

/**
 * Presented sessions that were found expired.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * const expired = Effect.map(Metric.value(SessionMetrics.sessionsExpired), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const sessionsExpired: Metric.Metric.Counter<number> = internal.sessionsExpired

/**
 * Commits that met a concurrent change, tagged `resolution`: `merged`, `retried` or `failed`.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * // the conflicts that reached the app as a SessionConflict
 * const failed = SessionMetrics.conflicts.pipe(Metric.tagged("resolution", "failed"))
 * const count = Effect.map(Metric.value(failed), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const conflicts: Metric.Metric.Counter<number> = internal.conflicts

/**
 * Session store failures (loads, commits, lock timeouts).
 *
 * @example
 * ```ts
 * import { Effect, Metric, Schedule } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * // a health check that a monitoring fiber runs every minute
 * const watch = Effect.flatMap(
 *   Metric.value(SessionMetrics.storeErrors),
 *   (state) => state.count > 0 ? Effect.logWarning(`${state.count} session store errors so far`) : Effect.void
 * ).pipe(Effect.repeat(Schedule.spaced("1 minute")))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const storeErrors: Metric.Metric.Counter<number> = internal.storeErrors

/**
 * How long commits that wrote to the store took, in milliseconds.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * const averageCommitMillis = Effect.map(
 *   Metric.value(SessionMetrics.commitDuration),
 *   (histogram) => histogram.count === 0 ? 0 : histogram.sum / histogram.count
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const commitDuration: Metric.Metric<
  MetricKeyType.MetricKeyType.Histogram,
  number,
  MetricState.MetricState.Histogram
> = internal.commitDuration
