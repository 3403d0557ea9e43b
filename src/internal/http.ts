import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { SessionConflict, SessionStoreError } from "../SessionError.js"
import { SessionStore, type SessionStoreService } from "../SessionStore.js"
import * as core from "./session.js"
import { makeSigner, type Signer } from "./signing.js"

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface CookieOptions {
  readonly name?: string | undefined
  readonly secure?: boolean | undefined
  readonly httpOnly?: boolean | undefined
  readonly sameSite?: "lax" | "strict" | "none" | undefined
  readonly path?: string | undefined
  readonly domain?: string | undefined
  readonly persistent?: boolean | undefined
  readonly partitioned?: boolean | undefined
  readonly priority?: "low" | "medium" | "high" | undefined
}

/** @internal */
export type Transport =
  | { readonly _tag: "Cookie" } & CookieOptions
  | { readonly _tag: "Header"; readonly name?: string | undefined }
  | { readonly _tag: "Query"; readonly name?: string | undefined }

/** @internal */
export interface Options extends core.SessionOptions {
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly transport?: Transport | undefined
  readonly cookie?: CookieOptions | undefined
  readonly commitOn?: ((status: number) => boolean) | undefined
  readonly onCommitError?:
    | ((error: SessionStoreError | SessionConflict) => HttpServerResponse.HttpServerResponse)
    | undefined
}

/** @internal */
export interface HttpSessionService {
  readonly store: SessionStoreService
  readonly signer: Signer
  readonly transport: ResolvedTransport
  readonly session: core.MakeManagerOptions
  readonly commitOn: (status: number) => boolean
  readonly onCommitError: (error: SessionStoreError | SessionConflict) => HttpServerResponse.HttpServerResponse
}

/** @internal */
export const HttpSessionTag = Context.GenericTag<HttpSessionService>("effect-session/HttpSession")

/** @internal */
export const defaultCommitOn = (status: number): boolean => status < 400

/** @internal */
export const defaultOnCommitError = (
  error: SessionStoreError | SessionConflict
): HttpServerResponse.HttpServerResponse =>
  error._tag === "SessionConflict"
    ? HttpServerResponse.text("The session was changed by another request; please retry.", { status: 409 })
    : HttpServerResponse.text("The session store is unavailable; please retry later.", { status: 503 })

// ---------------------------------------------------------------------------------------------
// transports
// ---------------------------------------------------------------------------------------------

interface ResolvedTransport {
  /** Whether an id that verifies but is not stored is kept (query transport) or replaced. */
  readonly adoptUnknownId: boolean
  readonly read: (request: HttpServerRequest.HttpServerRequest) => string | undefined
  readonly write: (
    response: HttpServerResponse.HttpServerResponse,
    outcome: core.Outcome,
    presented: string | undefined,
    now: number
  ) => HttpServerResponse.HttpServerResponse
  /** A request without an id: the query transport redirects to the same URL with a new one. */
  readonly missing: (
    request: HttpServerRequest.HttpServerRequest
  ) => Option.Option<HttpServerResponse.HttpServerResponse>
}

const MAX_TOKEN = 256

/** Finds one cookie in a Cookie header without parsing the others. @internal */
export const readCookie = (header: string | undefined, name: string): string | undefined => {
  if (header === undefined || header.length === 0) return undefined
  const prefix = `${name}=`
  let start = 0
  while (start < header.length) {
    while (header.charCodeAt(start) === 32) start++
    let end = header.indexOf(";", start)
    if (end === -1) end = header.length
    if (header.startsWith(prefix, start)) {
      const value = header.slice(start + prefix.length, end).trim()
      return value.length > MAX_TOKEN ? undefined : value
    }
    start = end + 1
  }
  return undefined
}

const stored = (outcome: core.Outcome): string | undefined =>
  Option.isSome(outcome.id) ? Redacted.value(outcome.id.value) : undefined

const cookieTransport = (signer: Signer, options: CookieOptions): ResolvedTransport => {
  const name = options.name ?? "session"
  const persistent = options.persistent ?? false
  const base = {
    httpOnly: options.httpOnly ?? true,
    secure: options.secure ?? true,
    sameSite: options.sameSite ?? "lax",
    path: options.path ?? "/",
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    ...(options.partitioned === undefined ? {} : { partitioned: options.partitioned }),
    ...(options.priority === undefined ? {} : { priority: options.priority })
  } as const
  if (base.sameSite === "none" && !base.secure) {
    throw new RangeError("effect-session: a SameSite=None cookie must be Secure (browsers refuse it otherwise)")
  }
  if (base.partitioned === true && !base.secure) {
    throw new RangeError("effect-session: a Partitioned cookie must be Secure")
  }
  // validate the attributes once, at start-up, rather than on every request
  HttpServerResponse.unsafeSetCookie(HttpServerResponse.empty(), name, "x", base)
  return {
    adoptUnknownId: false,
    read: (request) => {
      const value = readCookie(request.headers.cookie, name)
      return value === undefined ? undefined : signer.verify(value)
    },
    write: (response, outcome, presented, now) => {
      const id = stored(outcome)
      if (id !== undefined) {
        if (id === presented && !(persistent && outcome.saved)) return response
        return HttpServerResponse.unsafeSetCookie(response, name, signer.sign(id), {
          ...base,
          ...(persistent ? { maxAge: Duration.seconds(Math.max(0, Math.round((outcome.expiresAt - now) / 1000))) } : {})
        })
      }
      if (presented !== undefined && outcome.touched) {
        // the presented session is gone (destroyed, expired, unknown): expire the cookie
        return HttpServerResponse.unsafeSetCookie(response, name, "", { ...base, maxAge: Duration.zero })
      }
      return response
    },
    missing: () => Option.none()
  }
}

const headerTransport = (signer: Signer, rawName: string | undefined): ResolvedTransport => {
  const name = (rawName ?? "x-session-id").toLowerCase()
  return {
    adoptUnknownId: false,
    read: (request) => {
      const value = request.headers[name]
      return value === undefined || value.length > MAX_TOKEN ? undefined : signer.verify(value)
    },
    write: (response, outcome, presented) => {
      const id = stored(outcome)
      if (id !== undefined) {
        return id === presented ? response : HttpServerResponse.setHeader(response, name, signer.sign(id))
      }
      // an empty header: the client must forget its id
      return presented !== undefined && outcome.touched ? HttpServerResponse.setHeader(response, name, "") : response
    },
    missing: () => Option.none()
  }
}

const queryTransport = (signer: Signer, rawName: string | undefined): ResolvedTransport => {
  const name = rawName ?? "sid"
  const urlOf = (request: HttpServerRequest.HttpServerRequest) => new URL(request.url, "http://localhost")
  return {
    // the id travels in the URL before anything is stored: a signed id that is not stored yet is kept
    adoptUnknownId: true,
    read: (request) => {
      const value = urlOf(request).searchParams.get(name)
      return value === null || value.length > MAX_TOKEN ? undefined : signer.verify(value)
    },
    write: (response, outcome, presented) => {
      const id = stored(outcome)
      if (id === undefined || id === presented) return response
      // a new id (regenerated, or a new session after expiry): the app links with it from now on
      return HttpServerResponse.setHeader(response, "x-session-id", signer.sign(id))
    },
    missing: (request) => {
      const url = urlOf(request)
      url.searchParams.set(name, signer.sign(core.newId()))
      return Option.some(HttpServerResponse.redirect(`${url.pathname}${url.search}`, { status: 302 }))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// construction
// ---------------------------------------------------------------------------------------------

/** @internal */
export const make = (options: Options): Effect.Effect<HttpSessionService, never, SessionStore> =>
  Effect.map(SessionStore, (store) => {
    const signer = makeSigner(options.secrets)
    const transportOptions = options.transport ?? { _tag: "Cookie" }
    const transport = transportOptions._tag === "Cookie"
      ? cookieTransport(signer, { ...options.cookie, ...transportOptions })
      : transportOptions._tag === "Header"
      ? headerTransport(signer, transportOptions.name)
      : queryTransport(signer, transportOptions.name)
    return {
      store,
      signer,
      transport,
      session: core.prepare({
        idleTimeout: options.idleTimeout,
        absoluteTimeout: options.absoluteTimeout,
        touchInterval: options.touchInterval
      }),
      commitOn: options.commitOn ?? defaultCommitOn,
      onCommitError: options.onCommitError ?? defaultOnCommitError
    }
  })

/** @internal */
export const layer = (options: Options): Layer.Layer<HttpSessionService, never, SessionStore> =>
  Layer.effect(HttpSessionTag, make(options))

// ---------------------------------------------------------------------------------------------
// the middleware
// ---------------------------------------------------------------------------------------------

/**
 * Marks a handler as one that opens its own units of work: the middleware then gives it the
 * session's manager but no unit.
 *
 * @internal
 */
export const manual = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(core.SessionTag), (outer) => {
    if (Option.isNone(outer)) return self
    // the outer unit stays untouched (nothing to commit); Session.transaction inside starts units
    return Effect.mapInputContext(self as Effect.Effect<A, E, any>, Context.omit(core.SessionTag)) as Effect.Effect<
      A,
      E,
      R
    >
  })

const applyTransport = (
  config: HttpSessionService,
  manager: core.SessionManager,
  presented: string | undefined
) =>
(response: HttpServerResponse.HttpServerResponse) =>
  Effect.map(
    Effect.clockWith((clock) => clock.currentTimeMillis),
    (now) => config.transport.write(response, manager.outcome(), presented, now)
  )

/**
 * Runs an HTTP app with a session per request: the handler is one unit of work that commits when it
 * succeeds with a status `commitOn` accepts, and is discarded otherwise.
 *
 * @internal
 */
export const middleware = <E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, Exclude<R, core.Session | core.SessionManager> | HttpSessionService> =>
  Effect.flatMap(HttpSessionTag, (config) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const presented = config.transport.read(request)
      if (presented === undefined) {
        const redirect = config.transport.missing(request)
        if (Option.isSome(redirect)) return Effect.succeed(redirect.value)
      }
      const manager = core.unsafeMakeManager(config.store, {
        ...config.session,
        id: presented,
        adoptUnknownId: config.transport.adoptUnknownId
      })
      const writeBack = applyTransport(config, manager, presented)
      const attempt = (n: number): Effect.Effect<HttpServerResponse.HttpServerResponse, E> =>
        Effect.uninterruptibleMask((restore) => {
          const session = core.makeUnit(manager)
          return Effect.flatMap(
            Effect.exit(restore(Effect.provideService(
              Effect.provideService(app, core.SessionTag, session),
              core.SessionManagerTag,
              manager
            ))),
            (exit): Effect.Effect<HttpServerResponse.HttpServerResponse, E> => {
              if (Exit.isSuccess(exit) && config.commitOn(exit.value.status)) {
                return Effect.flatMap(
                  Effect.either(core.commit(session)),
                  (committed) => {
                    if (committed._tag === "Right") return writeBack(exit.value)
                    // the policy may run the handler again on fresh data (its other effects must be idempotent)
                    if (committed.left._tag === "SessionConflict" && core.canRetry(manager, n)) {
                      return restore(Effect.zipRight(core.backoff(n), attempt(n + 1)))
                    }
                    return Effect.succeed(config.onCommitError(committed.left))
                  }
                )
              }
              return Effect.zipRight(
                core.rollback(session),
                Exit.isSuccess(exit)
                  ? writeBack(exit.value)
                  // the error response is made later: add the transport's headers when it is
                  : Effect.zipRight(HttpApp.appendPreResponseHandler((_, response) => writeBack(response)), exit)
              )
            }
          )
        }) as Effect.Effect<HttpServerResponse.HttpServerResponse, E>
      return attempt(1)
    })) as any
