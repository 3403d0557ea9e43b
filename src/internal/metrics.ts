import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

/** @internal */
export const sessionsCreated = Metric.counter("effect_session_sessions_created", {
  description: "New sessions saved for the first time",
  incremental: true
})

/** @internal */
export const unitsCommitted = Metric.counter("effect_session_units_committed", {
  description:
    "Units of work whose commit wrote to the store (saved, created, merged, touched, regenerated, destroyed)",
  incremental: true
})

/** @internal */
export const unitsDiscarded = Metric.counter("effect_session_units_discarded", {
  description:
    "Units of work that read or changed the session and were discarded (failure, interruption, abort, 4xx/5xx)",
  incremental: true
})

/** @internal */
export const sessionsExpired = Metric.counter("effect_session_sessions_expired", {
  description: "Presented sessions found expired",
  incremental: true
})

/** @internal */
export const conflicts = Metric.counter("effect_session_conflicts", {
  description: "Commits that met a concurrent change (tag resolution: merged, failed, retried)",
  incremental: true
})

/** @internal */
export const storeErrors = Metric.counter("effect_session_store_errors", {
  description: "Session store failures (load, save, delete, lock timeouts)",
  incremental: true
})

/** @internal */
export const commitDuration = Metric.histogram(
  "effect_session_commit_duration_ms",
  MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 16 }),
  "Duration of commits that wrote to the store, in milliseconds"
)

const noTags: ReadonlyArray<never> = []
const merged = [MetricLabel.make("resolution", "merged")]

/** Records a commit that wrote: counters and duration, synchronously. @internal */
export const recordCommit = (outcome: string, millis: number): void => {
  unitsCommitted.unsafeUpdate(1, noTags)
  if (outcome === "created") sessionsCreated.unsafeUpdate(1, noTags)
  else if (outcome === "merged") conflicts.unsafeUpdate(1, merged)
  commitDuration.unsafeUpdate(millis, noTags)
}
