/**
 * The HTTP session configuration: its tag (made once; `HttpSession.HttpSession` re-exports it),
 * the default answers, and the layers that resolve the options once, at start-up.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { HttpSession, HttpSessionService, Options, SealedOptions } from "../../HttpSession.js"
import { type SessionConflict, SessionOptionError, type SessionStoreError } from "../../SessionError.js"
import { SessionStore, type SessionStoreService } from "../../SessionStore.js"
import { prepare } from "../runner.js"
import { makeSealer } from "../seal.js"
import { makeSigner } from "../signing.js"
import { BROWSER_COOKIE_LIMIT, cookieTransport, sessionCookie } from "./cookie.js"
import { headerTransport } from "./header.js"
import { queryTransport } from "./query.js"
import { noSharedStore, sealedTransport } from "./sealed.js"
import type { Transport } from "./transport.js"

/** @internal */
export const HttpSessionTag: Context.Tag<HttpSession, HttpSessionService> = Context.GenericTag<
  HttpSession,
  HttpSessionService
>("effect-session/HttpSession")

/** @internal */
export const defaultCommitOn = (status: number): boolean => status < 400

/**
 * The default answer to a failed commit, or a store that failed under a handler that did not
 * handle it: 409 for a conflict, 503 with `Retry-After: 1` for a lock that was not free in time
 * (contention: the same session is busy), 503 for a store outage.
 *
 * @internal
 */
export const defaultOnSessionError = (
  error: SessionStoreError | SessionConflict
): HttpServerResponse.HttpServerResponse =>
  error._tag === "SessionConflict"
    ? HttpServerResponse.text("The session was changed by another request; please retry.", { status: 409 })
    : error.operation === "lock"
    ? HttpServerResponse.text("The session is busy with another request; please retry.", {
      status: 503,
      headers: { "retry-after": "1" }
    })
    : HttpServerResponse.text("The session store is unavailable; please retry later.", { status: 503 })

/** Runs a start-up step that throws a `SessionOptionError` for a wrong option (anything else is a defect). */
const checked = <A>(build: () => A): Effect.Effect<A, SessionOptionError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(build())
    } catch (error) {
      return error instanceof SessionOptionError ? Effect.fail(error) : Effect.die(error)
    }
  })

const resolve = (
  options: Options | SealedOptions,
  store: SessionStoreService,
  transport: (idleOrAbsolute: number) => Transport,
  signer: HttpSessionService["signer"]
): HttpSessionService => {
  const session = prepare({
    idleTimeout: options.idleTimeout,
    absoluteTimeout: options.absoluteTimeout,
    touchInterval: options.touchInterval,
    lockTimeout: options.lockTimeout,
    onConflict: options.onConflict,
    retryAttempts: options.retryAttempts
  })
  return {
    store,
    signer,
    transport: transport(Math.min(session.idleMillis, session.absoluteMillis)),
    session,
    commitOn: options.commitOn ?? defaultCommitOn,
    onSessionError: options.onSessionError ?? defaultOnSessionError,
    customOnSessionError: options.onSessionError !== undefined
  }
}

/** @internal */
export const make = (options: Options): Effect.Effect<HttpSessionService, SessionOptionError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) =>
    checked(() => {
      const signer = makeSigner(options.secrets)
      const transport = options.transport ?? { _tag: "Cookie" }
      return resolve(options, store, (adoptWindow) => {
        switch (transport._tag) {
          case "Cookie":
            return cookieTransport(signer, { ...options.cookie, ...transport })
          case "Header":
            return headerTransport(signer, transport.name)
          case "Query":
            return queryTransport(signer, transport.name, adoptWindow)
        }
      }, signer)
    }))

/**
 * The layer's context: the configuration alone. A handler's `Session` and `SessionManager` are the
 * defaults of their tags, which find the session of the request in context (internal/tags.ts); a
 * handler's requirement of them is met by the middleware's type, so that forgetting the middleware
 * stays a type error.
 */
const contextOf = (config: HttpSessionService): Context.Context<HttpSession> => Context.make(HttpSessionTag, config)

/** @internal */
export const layer = (options: Options): Layer.Layer<HttpSession, SessionOptionError, SessionStore> =>
  Layer.effectContext(Effect.map(make(options), contextOf))

// the smallest value limit allowed: a seal's own overhead and a small record
const MIN_SEALED_VALUE = 256

/** @internal */
export const layerSealed = (
  options: SealedOptions
): Layer.Layer<HttpSession, SessionStoreError | SessionOptionError> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const signer = yield* checked(() => makeSigner(options.secrets))
      const cookie = yield* checked(() => sessionCookie(options.cookie ?? {}))
      // one number for writing and reading: the cookie's name and value together, as browsers count
      const maxLength = options.maxLength ?? BROWSER_COOKIE_LIMIT
      const maxValueLength = maxLength - cookie.name.length
      if (!Number.isInteger(maxLength) || maxLength > BROWSER_COOKIE_LIMIT || maxValueLength < MIN_SEALED_VALUE) {
        return yield* new SessionOptionError({
          option: "maxLength",
          detail: `an integer of at most ${BROWSER_COOKIE_LIMIT} (browsers drop a cookie whose name and value ` +
            `are longer), and at least the cookie name's length plus ${MIN_SEALED_VALUE}`
        })
      }
      const sealer = yield* makeSealer({
        secrets: options.secrets,
        maxLength: maxValueLength,
        retainExpired: options.retainExpired,
        context: cookie.name
      })
      // every request brings its own one-record store: there is no shared one
      const config = yield* checked(() =>
        resolve(options, noSharedStore, () => sealedTransport(sealer, cookie, maxValueLength), signer)
      )
      return contextOf(config)
    })
  )
