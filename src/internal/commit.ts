/**
 * The one executor of commit plans (plan.ts): the store calls, the conflict policy and the
 * three-way merge. It returns the snapshot that is the session's state afterwards.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { SessionConflict, type SessionStoreError } from "../SessionError.js"
import type { Committed } from "../SessionManager.js"
import type { SessionStoreService, Sync } from "../SessionStore.js"
import type { ResolvedOptions } from "./options.js"
import { nextVersion, type Plan, type UnitChanges } from "./plan.js"
import { changedKeys, type Data, emptyData, fromRecord, jsonEqual, toRecord } from "./snapshot.js"

/** @internal */
export type CommitOutcome = "unchanged" | "touched" | "saved" | "created" | "merged" | "regenerated" | "destroyed"

/** @internal */
export interface Executed {
  /** The session's state after the commit. */
  readonly next: Committed
  readonly outcome: CommitOutcome
  /** Whether the store was written. */
  readonly saved: boolean
  /** Whether `next` may be behind the store (a touch lost a race). */
  readonly stale: boolean
}

/** What the executor works with: the store, its synchronous operations if declared, the options. @internal */
export interface Executor {
  readonly store: SessionStoreService
  readonly sync: Sync | undefined
  readonly options: ResolvedOptions
}

const done = (next: Committed, outcome: CommitOutcome, saved = true, stale = false): Executed => ({
  next,
  outcome,
  saved,
  stale
})

// a compare-and-set save of a snapshot that expects the version before its own
const save = (
  ex: Executor,
  next: Committed,
  now: number
): Effect.Effect<Committed, SessionStoreError | SessionConflict> => {
  const sync = ex.sync
  if (sync !== undefined) {
    const conflict = sync.save(next.id, toRecord(next), next.version - 1, now)
    return conflict === undefined ? Effect.succeed(next) : Effect.fail(conflict)
  }
  return Effect.as(ex.store.save(next.id, toRecord(next), next.version - 1), next)
}

// the three-way merge by key of our changes (`ours`, `userId`) and theirs, both made from `base`:
// undefined when a key (or the user) was changed by both
const mergeInto = (
  base: Committed,
  ours: Data,
  userId: string | undefined,
  theirs: Committed
): { readonly data: Data; readonly userId: string | undefined } | undefined => {
  const changedByUs = changedKeys(base.data, ours, (a, b) => a === b)
  const changedByThem = changedKeys(base.data, theirs.data, jsonEqual)
  for (const key of changedByUs) if (changedByThem.has(key)) return undefined
  const userChangedByUs = userId !== base.userId
  if (userChangedByUs && theirs.userId !== base.userId) return undefined
  let merged = theirs.data
  for (const key of changedByUs) {
    const value = HashMap.get(ours, key)
    merged = Option.isSome(value) ? HashMap.set(merged, key, value.value) : HashMap.remove(merged, key)
  }
  return { data: merged, userId: userChangedByUs ? userId : theirs.userId }
}

// three-way merge by key against the snapshot the unit started from
const merge = (
  ex: Executor,
  base: Committed,
  ours: Data,
  userId: string | undefined,
  now: number,
  attempt: number,
  conflict: SessionConflict
): Effect.Effect<Committed, SessionStoreError | SessionConflict> =>
  Effect.flatMap(ex.store.load(base.id), (found) => {
    if (Option.isNone(found) || found.value.expiresAt <= now) return Effect.fail(conflict)
    const theirs = fromRecord(base.id, found.value)
    const result = mergeInto(base, ours, userId, theirs)
    if (result === undefined) return Effect.fail(conflict)
    const merged = result.data
    const mergedUser = result.userId
    return Effect.catchTag(
      save(ex, nextVersion(ex.options, theirs, now, merged, mergedUser), now),
      "SessionConflict",
      (again) =>
        attempt < ex.options.retryAttempts
          ? merge(ex, theirs, merged, mergedUser, now, attempt + 1, again)
          : Effect.fail(again)
    )
  })

// a compare-and-set save of the unit's data; a conflict is merged when the policy says so
const saveUnderPolicy = (
  ex: Executor,
  base: Committed,
  next: Committed,
  unit: UnitChanges,
  now: number,
  outcome: CommitOutcome
): Effect.Effect<Executed, SessionStoreError | SessionConflict> => {
  const write = Effect.map(save(ex, next, now), (saved) => done(saved, outcome))
  const policy = ex.options.onConflict
  return policy === "merge" || policy === "merge-then-retry"
    ? Effect.catchTag(write, "SessionConflict", (conflict) =>
      Effect.map(
        merge(ex, base, unit.data, unit.userId, now, 1, conflict),
        (merged) => done(merged, "merged")
      ))
    : write
}

/**
 * Regenerate (#13): the unit's data under the new id, then the old id deleted at the version the
 * unit read (compare-and-set), so that a write another process committed meanwhile is never deleted
 * unseen. When that delete meets a conflict:
 *
 * - `merge`, `merge-then-retry`: the old id's record (theirs) is merged with our changes against
 *   `base` into the new id (a compare-and-set at the version just written there), and the old id is
 *   deleted at theirs' version; up to `retryAttempts` times.
 * - otherwise, or when theirs is gone, or a key was changed by both: the new id (which nobody has
 *   seen) is deleted, best effort, and the commit fails with the conflict (`retry` runs the unit
 *   again). A store error leaves the new id alone: the old id's delete may have happened.
 */
const regenerate = (
  ex: Executor,
  plan: Extract<Plan, { readonly _tag: "Regenerate" }>,
  base: Committed,
  unit: UnitChanges,
  now: number
): Effect.Effect<Executed, SessionStoreError | SessionConflict> =>
  Effect.flatMap(save(ex, plan.next, now), (ours) =>
    Effect.catchTag(
      Effect.as(ex.store.delete(plan.oldId, plan.oldVersion), done(ours, "regenerated")),
      "SessionConflict",
      (conflict) => {
        const policy = ex.options.onConflict
        const settled = policy === "merge" || policy === "merge-then-retry"
          ? carryOver(ex, plan.oldId, base, ours, unit, now, 1, conflict)
          : Effect.fail(conflict)
        return Effect.catchTag(
          settled,
          "SessionConflict",
          (failed) => Effect.zipRight(Effect.ignore(ex.store.delete(ours.id)), Effect.fail(failed))
        )
      }
    ))

// a regenerate's old id changed under us: theirs merged into the new id (which holds `ours`), then
// the old id deleted at theirs' version
const carryOver = (
  ex: Executor,
  oldId: string,
  base: Committed,
  ours: Committed,
  unit: UnitChanges,
  now: number,
  attempt: number,
  conflict: SessionConflict
): Effect.Effect<Executed, SessionStoreError | SessionConflict> =>
  Effect.flatMap(ex.store.load(oldId), (found) => {
    // gone (destroyed, regenerated elsewhere) or expired: nothing to carry over, a conflict
    if (Option.isNone(found) || found.value.expiresAt <= now) return Effect.fail(conflict)
    const theirs = fromRecord(oldId, found.value)
    const result = mergeInto(base, unit.data, unit.userId, theirs)
    if (result === undefined) return Effect.fail(conflict)
    return Effect.flatMap(save(ex, nextVersion(ex.options, ours, now, result.data, result.userId), now), (merged) =>
      Effect.catchTag(
        Effect.as(ex.store.delete(oldId, theirs.version), done(merged, "regenerated")),
        "SessionConflict",
        (again) =>
          attempt < ex.options.retryAttempts
            ? carryOver(ex, oldId, base, merged, unit, now, attempt + 1, again)
            : Effect.fail(again)
      ))
  })

const freshBase = (then: Plan, base: Committed): Committed =>
  then._tag === "Unchanged" || then._tag === "Create" ? { ...then.next, version: 0, data: emptyData } : base

/**
 * Carries out a plan made for a unit that started from `base`.
 *
 * @internal
 */
export const execute = (
  ex: Executor,
  plan: Plan,
  base: Committed,
  unit: UnitChanges,
  now: number
): Effect.Effect<Executed, SessionStoreError | SessionConflict> => {
  switch (plan._tag) {
    case "Unchanged":
      return Effect.succeed(done(plan.next, "unchanged", false))
    case "Save":
      return saveUnderPolicy(ex, base, plan.next, unit, now, "saved")
    case "Create":
      return saveUnderPolicy(ex, base, plan.next, unit, now, "created")
    case "Touch":
      // a touch that loses a race is harmless: whoever won moved the deadline too
      return Effect.catchTag(
        Effect.map(save(ex, plan.next, now), (next) => done(next, "touched")),
        "SessionConflict",
        () => Effect.succeed(done(base, "touched", false, true))
      )
    case "Regenerate":
      return regenerate(ex, plan, base, unit, now)
    case "Destroy":
      // compare-and-set (#13): the old id goes only at the version the unit read; a write another
      // process committed meanwhile fails the commit (the policy `retry` runs the unit again)
      return Effect.zipRight(
        ex.store.delete(plan.oldId, plan.oldVersion),
        Effect.map(
          // what the unit wrote after destroy is a new session, with nothing stored to merge with
          execute(ex, plan.then, freshBase(plan.then, base), unit, now),
          (executed) => ({ ...executed, outcome: "destroyed" as const })
        )
      )
    case "Expired":
      // the session the unit read is gone: a conflict, which the policy may settle by running the
      // unit again (it then starts on a fresh session)
      return Effect.fail(new SessionConflict({ store: ex.store.name, expectedVersion: base.version }))
  }
}
