import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
// the option types are the public ones: one definition, documented there
import type { CookieOptions, Options, SealedOptions } from "../HttpSession.js"
import { SessionConflict, SessionStoreError, type SessionStoreOperation } from "../SessionError.js"
import { type SessionRecord, SessionStore, type SessionStoreService } from "../SessionStore.js"
import type { SealedCookieService } from "../SessionStore/Cookie.js"
import { outsideUnit } from "./runner.js"
import * as core from "./session.js"
import { makeSigner, type Signer } from "./signing.js"
import * as sealedCookie from "./storeCookie.js"
import { Unit } from "./unit.js"

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface HttpSessionService {
  readonly store: SessionStoreService
  readonly signer: Signer
  readonly transport: ResolvedTransport
  readonly session: core.ResolvedOptions
  readonly commitOn: (status: number) => boolean
  readonly onSessionError: (error: SessionStoreError | SessionConflict) => HttpServerResponse.HttpServerResponse
}

/** @internal */
export const HttpSessionTag = Context.GenericTag<HttpSessionService>("effect-session/HttpSession")

/** @internal */
export const defaultCommitOn = (status: number): boolean => status < 400

/** @internal */
export const defaultOnSessionError = (
  error: SessionStoreError | SessionConflict
): HttpServerResponse.HttpServerResponse =>
  error._tag === "SessionConflict"
    ? HttpServerResponse.text("The session was changed by another request; please retry.", { status: 409 })
    : HttpServerResponse.text("The session store is unavailable; please retry later.", { status: 503 })

// ---------------------------------------------------------------------------------------------
// transports
// ---------------------------------------------------------------------------------------------

/** A transport that carries the session itself: it brings a store of one record per request. @internal */
interface PerRequest {
  readonly presented: string | undefined
  readonly store: SessionStoreService
  readonly write: (
    response: HttpServerResponse.HttpServerResponse,
    outcome: core.Outcome,
    now: number
  ) => HttpServerResponse.HttpServerResponse
}

interface ResolvedTransport {
  /** Whether `write` reads `now` (a persistent cookie's Max-Age): otherwise the clock is not asked. */
  readonly needsTime: boolean
  readonly perRequest?: ((request: HttpServerRequest.HttpServerRequest, now: number) => PerRequest) | undefined
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
const MAX_SEALED = 4096

/** Finds one cookie in a Cookie header without parsing the others. @internal */
export const readCookie = (header: string | undefined, name: string, max = MAX_TOKEN): string | undefined => {
  if (header === undefined || header.length === 0) return undefined
  const prefix = `${name}=`
  let start = 0
  while (start < header.length) {
    while (header.charCodeAt(start) === 32) start++
    let end = header.indexOf(";", start)
    if (end === -1) end = header.length
    if (header.startsWith(prefix, start)) {
      const value = header.slice(start + prefix.length, end).trim()
      return value.length > max ? undefined : value
    }
    start = end + 1
  }
  return undefined
}

/**
 * The session cookie of a transport: its name, attributes (checked once, at start-up) and the two
 * ways it is written — set (with a `Max-Age` following the session's expiry when persistent) and
 * expired.
 */
const sessionCookie = (options: CookieOptions) => {
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
    name,
    persistent,
    set: (response: HttpServerResponse.HttpServerResponse, value: string, expiresAt: number, now: number) =>
      HttpServerResponse.unsafeSetCookie(response, name, value, {
        ...base,
        ...(persistent ? { maxAge: Duration.seconds(Math.max(0, Math.round((expiresAt - now) / 1000))) } : {})
      }),
    expire: (response: HttpServerResponse.HttpServerResponse) =>
      HttpServerResponse.unsafeSetCookie(response, name, "", { ...base, maxAge: Duration.zero })
  }
}

const cookieTransport = (signer: Signer, options: CookieOptions): ResolvedTransport => {
  const cookie = sessionCookie(options)
  const { name, persistent } = cookie
  return {
    needsTime: persistent,
    adoptUnknownId: false,
    read: (request) => {
      const value = readCookie(request.headers.cookie, name)
      return value === undefined ? undefined : signer.verify(value)
    },
    write: (response, outcome, presented, now) => {
      const id = outcome.storedId
      if (id !== undefined) {
        if (id === presented && !(persistent && outcome.saved)) return response
        return cookie.set(response, signer.sign(id), outcome.expiresAt, now)
      }
      // the presented session is gone (destroyed, expired, unknown): expire the cookie
      if (presented !== undefined && outcome.touched) return cookie.expire(response)
      return response
    },
    missing: () => Option.none()
  }
}

const headerTransport = (signer: Signer, rawName: string | undefined): ResolvedTransport => {
  const name = (rawName ?? "x-session-id").toLowerCase()
  return {
    needsTime: false,
    adoptUnknownId: false,
    read: (request) => {
      const value = request.headers[name]
      return value === undefined || value.length > MAX_TOKEN ? undefined : signer.verify(value)
    },
    write: (response, outcome, presented) => {
      const id = outcome.storedId
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
    needsTime: false,
    // the id travels in the URL before anything is stored: a signed id that is not stored yet is kept
    adoptUnknownId: true,
    read: (request) => {
      const value = urlOf(request).searchParams.get(name)
      return value === null || value.length > MAX_TOKEN ? undefined : signer.verify(value)
    },
    write: (response, outcome, presented) => {
      const id = outcome.storedId
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

const SEALED_ID = "sealed"

const sealedCookieTransport = (sealed: SealedCookieService, options: CookieOptions): ResolvedTransport => {
  const cookie = sessionCookie(options)
  const name = cookie.name
  return {
    needsTime: true,
    adoptUnknownId: true,
    read: () => undefined,
    write: (response) => response,
    missing: () => Option.none(),
    perRequest: (request, now) => {
      const value = readCookie(request.headers.cookie, name, MAX_SEALED)
      const opened = value === undefined ? Option.none<SessionRecord>() : sealed.unsealAt(value, now)
      // the one record of this request: the session the cookie carries, and what the unit commits
      let slot: { id: string; record: SessionRecord; sealed: string | undefined } | undefined = Option.isSome(opened)
        ? { id: SEALED_ID, record: opened.value, sealed: undefined }
        : undefined
      let cleared = false
      const store: SessionStoreService = {
        name: "sealed-cookie",
        load: (id) => Effect.succeed(slot !== undefined && slot.id === id ? Option.some(slot.record) : Option.none()),
        save: (id, record, expectedVersion) =>
          Effect.suspend((): Effect.Effect<void, SessionStoreError | SessionConflict> => {
            const current = slot !== undefined && slot.id === id ? slot.record.version : 0
            if (current !== expectedVersion) {
              return Effect.fail(new SessionConflict({ store: "sealed-cookie", expectedVersion }))
            }
            const result = sealed.seal(record)
            if (result._tag === "Left") return Effect.fail(result.left)
            slot = { id, record, sealed: result.right }
            return Effect.void
          }),
        delete: (id) =>
          Effect.sync(() => {
            if (slot !== undefined && slot.id === id) {
              slot = undefined
              cleared = true
            }
          }),
        deleteByUser: () =>
          Effect.fail(
            new SessionStoreError({
              store: "sealed-cookie",
              operation: "deleteByUser",
              detail: "sealed cookies cannot be revoked on the server"
            })
          ),
        purge: Effect.succeed(0)
      }
      return {
        presented: Option.isSome(opened) ? SEALED_ID : undefined,
        store,
        write: (response, outcome, now) => {
          if (slot?.sealed !== undefined) return cookie.set(response, slot.sealed, outcome.expiresAt, now)
          if (cleared && slot === undefined && value !== undefined) return cookie.expire(response)
          return response
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// construction
// ---------------------------------------------------------------------------------------------

const resolveConfig = (
  options: Options,
  store: SessionStoreService,
  transport: ResolvedTransport,
  signer: Signer
): HttpSessionService => ({
  store,
  signer,
  transport,
  session: core.prepare({
    idleTimeout: options.idleTimeout,
    absoluteTimeout: options.absoluteTimeout,
    touchInterval: options.touchInterval,
    lockTimeout: options.lockTimeout,
    onConflict: options.onConflict,
    retryAttempts: options.retryAttempts
  }),
  commitOn: options.commitOn ?? defaultCommitOn,
  onSessionError: options.onSessionError ?? defaultOnSessionError
})

/** @internal */
export const make = (options: Options): Effect.Effect<HttpSessionService, never, SessionStore> =>
  Effect.map(SessionStore, (store) => {
    const signer = makeSigner(options.secrets)
    const transportOptions = options.transport ?? { _tag: "Cookie" }
    if (transportOptions._tag === "SealedCookie") {
      throw new RangeError("effect-session: the SealedCookie transport needs no store: use HttpSession.layerSealed")
    }
    const transport = transportOptions._tag === "Cookie"
      ? cookieTransport(signer, { ...options.cookie, ...transportOptions })
      : transportOptions._tag === "Header"
      ? headerTransport(signer, transportOptions.name)
      : queryTransport(signer, transportOptions.name)
    return resolveConfig(options, store, transport, signer)
  })

/** @internal */
export const layer = (options: Options): Layer.Layer<HttpSessionService, never, SessionStore> =>
  Layer.effect(HttpSessionTag, make(options))

/** @internal */
export const layerSealed = (options: SealedOptions): Layer.Layer<HttpSessionService, SessionStoreError> =>
  Layer.effect(
    HttpSessionTag,
    Effect.map(
      sealedCookie.make({
        secrets: options.secrets,
        maxLength: options.maxLength,
        retainExpired: options.retainExpired,
        context: options.cookie?.name ?? "session"
      }),
      // every request brings its own one-record store: there is no shared one
      (sealed) =>
        resolveConfig(
          options,
          noSharedStore,
          sealedCookieTransport(sealed, options.cookie ?? {}),
          makeSigner(options.secrets)
        )
    )
  )

const noSharedStore: SessionStoreService = (() => {
  const none = (operation: SessionStoreOperation) =>
    Effect.fail(new SessionStoreError({ store: "sealed-cookie", operation, detail: "no server-side store" }))
  return {
    name: "sealed-cookie",
    load: () => none("load"),
    save: () => none("save"),
    delete: () => none("delete"),
    deleteByUser: () => none("deleteByUser"),
    purge: none("purge")
  }
})()

const isSessionStoreError = (u: unknown): u is SessionStoreError => u instanceof SessionStoreError

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
  Effect.flatMap(Effect.serviceOption(core.SessionTag), (outer) =>
    // the request's own unit stays untouched (nothing to commit); Session.transaction inside starts
    // units, and outside them the handler sees a closed unit whose writes say to open one
    Option.isSome(outer) && outer.value instanceof Unit
      ? Effect.provideService(self, core.SessionTag, outsideUnit(outer.value.manager))
      : self)

const applyTransport = (
  config: HttpSessionService,
  manager: core.Manager,
  presented: string | undefined
) =>
(response: HttpServerResponse.HttpServerResponse) =>
  // called once the request's units have ended (a continuation of the handler): one step
  config.transport.needsTime
    ? Effect.clockWith((clock) =>
      Effect.succeed(
        config.transport.write(response, manager.outcome(), presented, clock.unsafeCurrentTimeMillis())
      )
    )
    : Effect.succeed(config.transport.write(response, manager.outcome(), presented, 0))

/**
 * Runs an HTTP app with a session per request: the handler is one unit of work that commits when it
 * succeeds with a status `commitOn` accepts, and is discarded otherwise.
 *
 * @internal
 */
export const middleware = <E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, Exclude<R, core.Session | core.SessionManager> | HttpSessionService> =>
  Effect.contextWithEffect((context: Context.Context<HttpSessionService | HttpServerRequest.HttpServerRequest>) => {
    const config = Context.get(context, HttpSessionTag)
    const request = Context.get(context, HttpServerRequest.HttpServerRequest)
    if (config.transport.perRequest !== undefined) {
      const perRequest = config.transport.perRequest
      return Effect.flatMap(Clock.currentTimeMillis, (now) => handle(app, config, perRequest(request, now), request))
    }
    return handle(app, config, undefined, request)
  }) as any

const safeMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"])

const handle = <E, R>(
  app: HttpApp.Default<E, R>,
  config: HttpSessionService,
  perRequest: PerRequest | undefined,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> => {
  const presented = perRequest === undefined ? config.transport.read(request) : perRequest.presented
  if (presented === undefined && perRequest === undefined) {
    const redirect = config.transport.missing(request)
    if (Option.isSome(redirect)) {
      return Effect.succeed(redirect.value)
    }
  }
  const manager = core.unsafeMakeManagerFor(
    perRequest?.store ?? config.store,
    config.session,
    presented,
    config.transport.adoptUnknownId
  )
  const writeBack = perRequest === undefined
    ? applyTransport(config, manager, presented)
    : (response: HttpServerResponse.HttpServerResponse) =>
      Effect.map(Clock.currentTimeMillis, (at) => perRequest.write(response, manager.outcome(), at))
  const attempt = (n: number): Effect.Effect<HttpServerResponse.HttpServerResponse, E> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiberRuntime((fiber) => {
        // a request of a safe method reads without the session's lock (it takes it at a first write)
        const session = core.makeUnit(manager, safeMethods.has(request.method) ? "read" : "write")
        // the request's services, set on the fiber for the handler and put back when it has ended,
        // whatever the end: what Effect.provideService does, without its acquire/release steps on
        // every request (the continuation below always runs: the region is uninterruptible and
        // the match catches everything). One copy of the context, not one per service.
        const outer = fiber.getFiberRef(FiberRef.currentContext)
        const services = new Map(outer.unsafeMap)
        services.set(core.SessionTag.key, session)
        services.set(core.SessionManagerTag.key, manager)
        const restoreContext = FiberRef.set(FiberRef.currentContext, outer)
        return Effect.zipRight(
          FiberRef.set(FiberRef.currentContext, Context.unsafeMake(services)),
          Effect.matchCauseEffect(restore(app as Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>), {
            onFailure: (cause) => Effect.zipRight(restoreContext, afterHandler(Exit.failCause(cause))),
            onSuccess: (response) => Effect.zipRight(restoreContext, afterHandler(Exit.succeed(response)))
          })
        )
        function afterHandler(
          exit: Exit.Exit<HttpServerResponse.HttpServerResponse, E>
        ): Effect.Effect<HttpServerResponse.HttpServerResponse, E> {
          // the session was never touched (no unit loaded it, none ran inside): nothing to commit or send
          if (Exit.isSuccess(exit) && !manager.touched() && core.commitIfUntouched(session)) {
            return Effect.succeed(exit.value)
          }
          if (Exit.isSuccess(exit) && config.commitOn(exit.value.status)) {
            return Effect.matchEffect(core.commitNow(session), {
              onSuccess: () => writeBack(exit.value),
              onFailure: (error) => {
                // the policy may run the handler again on fresh data (its other effects must be idempotent)
                if (error._tag === "SessionConflict" && core.canRetry(manager, n)) {
                  return restore(Effect.zipRight(core.backoff(n), attempt(n + 1)))
                }
                return Effect.succeed(config.onSessionError(error))
              }
            })
          }
          // the session store failed under the handler, which did not handle it: 503, as a commit
          const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
          if (Option.isSome(failure) && isSessionStoreError(failure.value)) {
            return Effect.as(core.rollback(session), config.onSessionError(failure.value))
          }
          return Effect.flatMap(
            core.rollback(session),
            () =>
              Exit.isSuccess(exit)
                ? writeBack(exit.value)
                // the error response is made later: add the transport's headers when it is
                : Effect.zipRight(HttpApp.appendPreResponseHandler((_, response) => writeBack(response)), exit)
          )
        }
      })
    ) as Effect.Effect<HttpServerResponse.HttpServerResponse, E>
  return attempt(1)
}
