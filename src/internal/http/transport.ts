/**
 * The one interface of the HTTP transports (cookie, header, query, sealed cookie), after
 * tower-sessions' `CookieController`: `open` reads the request once, at a time, and gives the
 * presented (verified) id, an optional per-request store and an optional redirect; the opened
 * request's `write` puts the outcome of its units on the response.
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { SessionStoreService } from "../../SessionStore.js"
import type { Verified } from "../signing.js"
import type { Outcome } from "../snapshot.js"

/** A request as a transport opened it. @internal */
export interface Opened {
  /**
   * The presented id, verified; `undefined` when none was presented or it did not verify. Read
   * only when the request's session is touched: a transport may read and verify it then (the
   * cookie transport does), so that a request that never touches its session pays for neither.
   */
  readonly id: string | undefined
  /** Whether a verified id that is not stored is kept (a freshly minted query id) or replaced. */
  readonly adopt: boolean
  /** The store of this request only (the sealed cookie's one record), instead of the shared one. */
  readonly store: SessionStoreService | undefined
  /** The response to give instead of running the handler (the query transport's redirect). */
  readonly redirect: HttpServerResponse.HttpServerResponse | undefined
  /**
   * Puts the outcome of the request's units on the response (`now` is 0 unless `writesTime`).
   * Called only when the request's session was touched: an untouched session writes nothing.
   */
  readonly write: (
    response: HttpServerResponse.HttpServerResponse,
    outcome: Outcome,
    now: number
  ) => HttpServerResponse.HttpServerResponse
}

/** @internal */
export interface Transport {
  /** Whether `open` reads `now`: otherwise the clock is not asked before the handler. */
  readonly readsTime: boolean
  /** Whether `write` reads `now` (a persistent cookie's Max-Age): otherwise the clock is not asked. */
  readonly writesTime: boolean
  readonly open: (request: HttpServerRequest.HttpServerRequest, now: number) => Opened
  /** Set on every response of the transport, error responses included (the query's `Referrer-Policy`). */
  readonly everyResponse:
    | ((response: HttpServerResponse.HttpServerResponse) => HttpServerResponse.HttpServerResponse)
    | undefined
}

/** The longest token a transport reads (a signed id is 87 characters). @internal */
export const MAX_TOKEN = 256

/**
 * Whether the presented token still names the stored session and the first secret signed it:
 * nothing to send. @internal
 */
export const unchanged = (presented: Verified | undefined, id: string): boolean =>
  presented !== undefined && presented.id === id && presented.current
