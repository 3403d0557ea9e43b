/**
 * The metrics effect-session records, as Effect `Metric`s: read them with `Metric.value`, or export
 * them with `@effect/opentelemetry` like any other Effect metric. None carries an id or data.
 *
 * Spans: `effect-session.load` (attributes `session.store`, `session.found`) around every store
 * load, and `effect-session.commit` (`session.store`, `session.outcome`: `saved`, `created`,
 * `merged`, `touched`, `regenerated`, `destroyed`, `conflict`, `error`) around every commit that
 * had something to do. Debug-level logs mark expiry and failed commits.
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
 * @since 0.1.0
 * @category metrics
 */
export const sessionsCreated: Metric.Metric.Counter<number> = internal.sessionsCreated

/**
 * Units of work whose commit wrote to the store.
 *
 * @since 0.1.0
 * @category metrics
 */
export const unitsCommitted: Metric.Metric.Counter<number> = internal.unitsCommitted

/**
 * Units of work that had read or changed the session and were discarded (failure, defect,
 * interruption, abort, a 4xx/5xx answer).
 *
 * @since 0.1.0
 * @category metrics
 */
export const unitsDiscarded: Metric.Metric.Counter<number> = internal.unitsDiscarded

/**
 * Presented sessions that were found expired.
 *
 * @since 0.1.0
 * @category metrics
 */
export const sessionsExpired: Metric.Metric.Counter<number> = internal.sessionsExpired

/**
 * Commits that met a concurrent change, tagged `resolution`: `merged`, `retried` or `failed`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const conflicts: Metric.Metric.Counter<number> = internal.conflicts

/**
 * Session store failures (loads, commits, lock timeouts).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeErrors: Metric.Metric.Counter<number> = internal.storeErrors

/**
 * How long commits that wrote to the store took, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const commitDuration: Metric.Metric<
  MetricKeyType.MetricKeyType.Histogram,
  number,
  MetricState.MetricState.Histogram
> = internal.commitDuration
