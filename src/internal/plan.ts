/**
 * The commit of a unit of work, decided as data: a pure function of the snapshot the unit started
 * from, what the unit did, the time and the options. One executor (commit.ts) carries a plan out.
 *
 * | plan        | when                                                        | store calls                          |
 * |-------------|-------------------------------------------------------------|--------------------------------------|
 * | Unchanged   | nothing written, or a new session left empty, or no deadline to move | none                        |
 * | Touch       | nothing written, the idle deadline moves by ≥ touchInterval | save (a lost race is harmless)       |
 * | Save        | a stored session whose data or user changed                 | compare-and-set save                 |
 * | Create      | a new session that holds data                               | save at version 0                    |
 * | Regenerate  | regenerate on a stored session                              | save under the new id, then delete the old at the version read (a conflict: the policy) |
 * | Destroy     | destroy on a stored session (then maybe a Create)           | delete at the version read, then save if data was written |
 * | Expired     | the session's deadline passed while the unit ran, or the save would set one already past | none: the commit is a conflict |
 *
 * @internal
 */
import type * as Data from "effect/Data"
import * as HashMap from "effect/HashMap"
import type { Committed } from "../SessionManager.js"
import { expiryFor, type ResolvedOptions } from "./options.js"
import { type Data as SessionData, emptyData } from "./snapshot.js"

/** What a unit did, as the commit needs it. @internal */
export interface UnitChanges {
  readonly data: SessionData
  readonly userId: string | undefined
  readonly destroy: boolean
  readonly regenerate: boolean
}

/** @internal */
export type Plan = Data.TaggedEnum<{
  /** Nothing to write. `next` is the state from now on (a regenerated new session's new id). */
  Unchanged: { readonly next: Committed }
  /** Move the idle deadline of an unchanged session. */
  Touch: { readonly next: Committed }
  /** A compare-and-set save of a stored session: `next.version - 1` is the version expected. */
  Save: { readonly next: Committed }
  /** The first save of a new session (expects no record). */
  Create: { readonly next: Committed }
  /** The data under a new id (`next`, a Create), then the old id deleted. */
  Regenerate: { readonly next: Committed; readonly oldId: string; readonly oldVersion: number }
  /** The stored session deleted; then `then`, for what the unit wrote after destroy. */
  Destroy: { readonly oldId: string; readonly oldVersion: number; readonly then: Plan }
  /** The session expired while the unit ran: nothing may be written. */
  Expired: {}
}>

/**
 * The plans' constructors: plain objects (a plan is made on every commit, and nothing compares
 * plans structurally, so `Data.taggedEnum`'s structural equality would only cost a copy).
 *
 * @internal
 */
export const Plan:
  & {
    readonly [Tag in Exclude<Plan["_tag"], "Expired">]: (
      args: Omit<Data.TaggedEnum.Value<Plan, Tag>, "_tag">
    ) => Data.TaggedEnum.Value<Plan, Tag>
  }
  & { readonly Expired: () => Data.TaggedEnum.Value<Plan, "Expired"> } = {
    Unchanged: ({ next }) => ({ _tag: "Unchanged", next }),
    Touch: ({ next }) => ({ _tag: "Touch", next }),
    Save: ({ next }) => ({ _tag: "Save", next }),
    Create: ({ next }) => ({ _tag: "Create", next }),
    Regenerate: ({ next, oldId, oldVersion }) => ({ _tag: "Regenerate", next, oldId, oldVersion }),
    Destroy: ({ oldId, oldVersion, then }) => ({ _tag: "Destroy", oldId, oldVersion, then }),
    Expired: () => ({ _tag: "Expired" })
  }

const changed = (base: Committed, unit: UnitChanges): boolean => unit.data !== base.data || unit.userId !== base.userId

/** The first snapshot of a new session with `data`. @internal */
export const created = (
  options: ResolvedOptions,
  id: string,
  now: number,
  createdAt: number,
  data: SessionData,
  userId: string | undefined
): Committed => ({ id, version: 1, createdAt, expiresAt: expiryFor(options, now, createdAt, data), userId, data })

/** The next version of `base` with `data`, its idle deadline moved. @internal */
export const nextVersion = (
  options: ResolvedOptions,
  base: Committed,
  now: number,
  data: SessionData,
  userId: string | undefined
): Committed => ({
  id: base.id,
  version: base.version + 1,
  createdAt: base.createdAt,
  expiresAt: expiryFor(options, now, base.createdAt, data),
  userId,
  data
})

/**
 * The plan of a unit's commit. `newId` gives a fresh random id (called only by Regenerate and
 * Destroy), so that the function stays pure for a test that passes a deterministic one.
 *
 * @internal
 */
export const plan = (
  base: Committed,
  unit: UnitChanges,
  now: number,
  options: ResolvedOptions,
  newId: () => string
): Plan => {
  // a stored session whose deadline passed while the unit ran: writing it would bring it back
  if (base.version > 0 && base.expiresAt <= now) return Plan.Expired()
  if (unit.destroy) {
    const fresh: Committed = { ...base, id: newId(), version: 0, createdAt: now, userId: undefined, data: emptyData }
    const then = planNew(fresh, unit, now, options)
    return base.version > 0 ? Plan.Destroy({ oldId: base.id, oldVersion: base.version, then }) : then
  }
  if (unit.regenerate) {
    const id = newId()
    if (base.version === 0) return planNew({ ...base, id }, unit, now, options)
    return writing(
      Plan.Regenerate({
        next: created(options, id, now, base.createdAt, unit.data, unit.userId),
        oldId: base.id,
        oldVersion: base.version
      }),
      now
    )
  }
  if (base.version === 0) return planNew(base, unit, now, options)
  if (changed(base, unit)) {
    return writing(Plan.Save({ next: nextVersion(options, base, now, unit.data, unit.userId) }), now)
  }
  // unchanged: move the idle deadline only when it moves by at least touchInterval
  const moved = expiryFor(options, now, base.createdAt, base.data) - base.expiresAt
  if (moved <= 0 || moved < options.touchMillis) return Plan.Unchanged({ next: base })
  return Plan.Touch({ next: nextVersion(options, base, now, base.data, base.userId) })
}

// never a save of a record whose deadline has already passed (a lifetime shortened past it, say)
const writing = <P extends Plan & { readonly next: Committed }>(plan: P, now: number): Plan =>
  plan.next.expiresAt <= now ? Plan.Expired() : plan

// a session that is not stored: never save an empty one
const planNew = (base: Committed, unit: UnitChanges, now: number, options: ResolvedOptions): Plan =>
  HashMap.size(unit.data) === 0
    ? Plan.Unchanged({ next: base })
    : writing(Plan.Create({ next: created(options, base.id, now, base.createdAt, unit.data, unit.userId) }), now)
