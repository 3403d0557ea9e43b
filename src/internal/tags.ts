/**
 * The tags of the core services, made once. The public modules re-export them typed; internal code
 * reaches the internal capabilities of a service through `managerOf` (runner.ts).
 *
 * @internal
 */
import * as Context from "effect/Context"
import type { Session, SessionService } from "../Session.js"
import type { SessionManager, SessionManagerService } from "../SessionManager.js"

/** @internal */
export const SessionTag: Context.Tag<Session, SessionService> = Context.GenericTag<Session, SessionService>(
  "effect-session/Session"
)

/** @internal */
export const SessionManagerTag: Context.Tag<SessionManager, SessionManagerService> = Context.GenericTag<
  SessionManager,
  SessionManagerService
>("effect-session/SessionManager")
