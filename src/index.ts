/**
 * effect-session: transactional sessions for Effect.
 *
 * @since 0.1.0
 */

/**
 * A session as a unit of work: commit on success, discard on failure, savepoints, typed keys.
 *
 * @since 0.1.0
 */
export * as Session from "./Session.js"

/**
 * The typed errors.
 *
 * @since 0.1.0
 */
export * as SessionError from "./SessionError.js"

/**
 * The session across units of work (id, expiry, last committed data).
 *
 * @since 0.1.0
 */
export * as SessionManager from "./SessionManager.js"

/**
 * The store contract and the memory store.
 *
 * @since 0.1.0
 */
export * as SessionStore from "./SessionStore.js"

/**
 * Sessions for `@effect/platform` HTTP apps: middleware, signed cookies, header and query transports.
 *
 * @since 0.1.0
 */
export * as HttpSession from "./HttpSession.js"

/**
 * Metrics (and the spans and logs) effect-session records.
 *
 * @since 0.1.0
 */
export * as SessionMetrics from "./SessionMetrics.js"
