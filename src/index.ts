/**
 * effect-session: transactional sessions for Effect.
 *
 * @since 0.1.0
 */

/**
 * A session as a unit of work: commit on success, discard on failure, savepoints, typed keys.
 *
 * @example
 * ```ts
 * import { Session } from "effect-session" // or: import * as Session from "effect-session/Session"
 *
 * const visit = Session.modify("visits", (n) => (typeof n === "number" ? n : 0) + 1).pipe(Session.transaction)
 * ```
 *
 * @since 0.1.0
 */
export * as Session from "./Session.js"

/**
 * The typed errors.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session, type SessionError } from "effect-session"
 *
 * const onConflict = (error: SessionError.SessionConflict) => Effect.logWarning(error.message)
 * const save = Session.set("k", 1).pipe(Session.transaction, Effect.catchTag("SessionConflict", onConflict))
 * ```
 *
 * @since 0.1.0
 */
export * as SessionError from "./SessionError.js"

/**
 * The session across units of work (id, expiry, last committed data).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SessionManager } from "effect-session"
 *
 * const isNew = Effect.flatMap(SessionManager.SessionManager, (manager) => manager.isNew)
 * ```
 *
 * @since 0.1.0
 */
export * as SessionManager from "./SessionManager.js"

/**
 * The store contract and the memory store.
 *
 * @example
 * ```ts
 * import { SessionStore } from "effect-session"
 * import * as RedisStore from "effect-session/SessionStore/Redis" // the backends are sub-modules
 *
 * const Dev = SessionStore.layerMemory()
 * const Prod = RedisStore.layerStore({ url: "redis://127.0.0.1:6379" })
 * ```
 *
 * @since 0.1.0
 */
export * as SessionStore from "./SessionStore.js"

/**
 * Sessions for `@effect/platform` HTTP apps: middleware, signed cookies, header and query transports.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const SessionLive = HttpSession.layerSealed({ secrets: [Redacted.make("a random secret of 32 bytes or more!!")] })
 * ```
 *
 * @since 0.1.0
 */
export * as HttpSession from "./HttpSession.js"

/**
 * Metrics (and the spans and logs) effect-session records.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { SessionMetrics } from "effect-session"
 *
 * const committed = Metric.value(SessionMetrics.unitsCommitted)
 * ```
 *
 * @since 0.1.0
 */
export * as SessionMetrics from "./SessionMetrics.js"
