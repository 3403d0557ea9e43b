/**
 * The tags of the core services, made once. The public modules re-export them typed; internal code
 * reaches the internal capabilities of a service through `managerOf` (runner.ts).
 *
 * Both are `Context.Reference`s typed as plain tags. The type is what a handler sees: `Session` and
 * `SessionManager` stay in its requirements until a unit of work or the HTTP middleware meets them,
 * so that a forgotten middleware is a type error. At run time, where nothing provides them (an HTTP
 * handler under the middleware), their default finds the session of the request in context
 * (internal/current.ts). So the HTTP layers put one service in the context, their configuration,
 * not three: the platform and the router copy the fiber's context on every request, at a cost per
 * entry. Anything provided closer (a `Session.transaction`'s unit, `Session.open`'s manager,
 * `SessionManager.layer`) comes first, as with any tag.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type { Session, SessionService } from "../Session.js"
import type { SessionManager, SessionManagerService } from "../SessionManager.js"
import { requestManager, requestSession } from "./current.js"

/**
 * A tag with a default at run time that a program must still be given in its type. Effect types a
 * `Reference` as required by nothing (a `yield*` of it has no requirement), and the types cannot say
 * "has a default at run time, yet must be provided"; so the Reference is typed as the plain tag it
 * also is at run time (`Context.unsafeGet` falls back to its default where it is missing). The one
 * cast of this module.
 */
const requiredReference = <Id, Service>(key: string, defaultValue: () => Service): Context.Tag<Id, Service> =>
  // a Reference, typed as the required tag it also is at run time (see above: no type says both)
  Context.Reference<Id>()(key, { defaultValue }) as unknown as Context.Tag<Id, Service>

/** @internal */
export const SessionTag: Context.Tag<Session, SessionService> = requiredReference(
  "effect-session/Session",
  (): SessionService => requestSession
)

/** @internal */
export const SessionManagerTag: Context.Tag<SessionManager, SessionManagerService> = requiredReference(
  "effect-session/SessionManager",
  (): SessionManagerService => requestManager
)

/**
 * The `Session` in `context`: a unit provided closer, or the tag's default (the request's). A lookup
 * that cannot miss, for code that inspects the current session without requiring it.
 *
 * @internal
 */
export const sessionIn = (context: Context.Context<never>): SessionService =>
  Context.unsafeGet(context as Context.Context<Session>, SessionTag)
