/**
 * The names the HTTP module uses from the core, in one place while it moves to the core's own
 * modules (keys, options, snapshot, plan, commit, manager, unit, runner, tags).
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type { SessionConflict, SessionStoreError } from "../SessionError.js"
import type { Manager } from "./manager.js"
import { Unit, type UnitMode } from "./unit.js"

export { generateId as newId } from "./id.js"
export type { ResolvedOptions } from "./options.js"
export { backoff, canRetry, prepare, unsafeMakeManagerFor } from "./runner.js"
export { Outcome } from "./snapshot.js"
export { SessionManagerTag, SessionTag } from "./tags.js"

export type { Session } from "../Session.js"
export type { SessionManager } from "../SessionManager.js"
/** @internal */
export type { Manager } from "./manager.js"

/** @internal */
export const makeUnit = (manager: Manager, mode?: UnitMode): Unit => new Unit(manager, undefined, mode)
/** @internal */
export const commitNow = (unit: Unit): Effect.Effect<void, SessionStoreError | SessionConflict> => unit.commit()
/** @internal */
export const commitIfUntouched = (unit: Unit): boolean => unit.commitIfUntouched()
/** @internal */
export const rollback = (unit: Unit): Effect.Effect<void> => unit.rollback()
