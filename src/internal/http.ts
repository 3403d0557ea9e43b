import * as Cookies from "@effect/platform/Cookies"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
// the option types are the public ones: one definition, documented there
import type { CookieOptions, Options, SealedOptions } from "../HttpSession.js"
import { SessionConflict, SessionOptionError, SessionStoreError, type SessionStoreOperation } from "../SessionError.js"
import { type SessionRecord, SessionStore, type SessionStoreService } from "../SessionStore.js"
import { outsideUnit } from "./runner.js"
import * as core from "./session.js"
import { makeSigner, type Signer, type Verified } from "./signing.js"
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
  /** Whether `onSessionError` is the app's own (HttpApi then keeps it instead of `SessionUnavailable`). */
  readonly customOnSessionError: boolean
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
  /** Whether `adopts` and `missing` read `now` (the query transport's minted ids): the clock is asked first. */
  readonly readsTime: boolean
  readonly perRequest?: ((request: HttpServerRequest.HttpServerRequest, now: number) => PerRequest) | undefined
  /** Whether an id that verifies but is not stored is kept (a freshly minted query id) or replaced. */
  readonly adopts: (presented: Verified, now: number) => boolean
  readonly read: (request: HttpServerRequest.HttpServerRequest) => Verified | undefined
  readonly write: (
    response: HttpServerResponse.HttpServerResponse,
    outcome: core.Outcome,
    presented: Verified | undefined,
    now: number
  ) => HttpServerResponse.HttpServerResponse
  /** A request without an id: the query transport redirects a GET or HEAD to the same path with a new one. */
  readonly missing: (
    request: HttpServerRequest.HttpServerRequest,
    now: number
  ) => Option.Option<HttpServerResponse.HttpServerResponse>
  /** Set on every response of the transport (the query transport's `Referrer-Policy`). */
  readonly everyResponse?:
    | ((response: HttpServerResponse.HttpServerResponse) => HttpServerResponse.HttpServerResponse)
    | undefined
}

const MAX_TOKEN = 256

/**
 * The browsers' limit on one cookie: its name and value together, in bytes (RFC 6265bis, 4096).
 *
 * @internal
 */
export const BROWSER_COOKIE_LIMIT = 4096

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

const never = () => false

/**
 * Throws the `SessionOptionError` of cookie attributes that browsers would refuse (so that no
 * session would ever stick): the `__Host-` and `__Secure-` name prefixes' rules, `SameSite=None`
 * or `Partitioned` without `Secure`, and what `Set-Cookie` cannot carry. Run once, at start-up.
 */
const checkCookie = (
  name: string,
  attributes: { readonly secure: boolean; readonly path: string; readonly domain?: string; readonly sameSite: string }
): void => {
  const lower = name.toLowerCase()
  if (
    lower.startsWith("__host-") && (!attributes.secure || attributes.domain !== undefined || attributes.path !== "/")
  ) {
    throw new SessionOptionError({
      option: "cookie.name",
      detail:
        "a cookie named __Host-… must be Secure (secure: true), have Path=/ and no Domain; browsers drop it otherwise"
    })
  }
  if (lower.startsWith("__secure-") && !attributes.secure) {
    throw new SessionOptionError({
      option: "cookie.name",
      detail: "a cookie named __Secure-… must be Secure (secure: true); browsers drop it otherwise"
    })
  }
  if (attributes.sameSite === "none" && !attributes.secure) {
    throw new SessionOptionError({
      option: "cookie.sameSite",
      detail: "a SameSite=None cookie must be Secure (secure: true); browsers refuse it otherwise"
    })
  }
}

/**
 * The session cookie of a transport: its name, attributes (checked once, at start-up: a wrong one
 * throws a `SessionOptionError`) and the two ways it is written — set (with a `Max-Age` following
 * the session's expiry when persistent) and expired.
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
  checkCookie(name, base)
  if (base.partitioned === true && !base.secure) {
    throw new SessionOptionError({ option: "cookie.partitioned", detail: "a Partitioned cookie must be Secure" })
  }
  // validate the attributes once, at start-up, rather than on every request
  const check = Cookies.makeCookie(name, "x", base)
  if (Either.isLeft(check)) {
    const reason = check.left.reason
    throw new SessionOptionError({
      option: reason === "InvalidDomain" ? "cookie.domain" : reason === "InvalidPath" ? "cookie.path" : "cookie.name",
      detail: reason === "InvalidDomain"
        ? "not a valid cookie domain"
        : reason === "InvalidPath"
        ? "not a valid cookie path"
        : "not a valid cookie name"
    })
  }
  return {
    name,
    persistent,
    set: (
      response: HttpServerResponse.HttpServerResponse,
      value: string,
      expiresAt: number,
      now: number,
      remembered = false
    ) =>
      HttpServerResponse.unsafeSetCookie(response, name, value, {
        ...base,
        ...(persistent || remembered
          ? { maxAge: Duration.seconds(Math.max(0, Math.round((expiresAt - now) / 1000))) }
          : {})
      }),
    expire: (response: HttpServerResponse.HttpServerResponse) =>
      HttpServerResponse.unsafeSetCookie(response, name, "", { ...base, maxAge: Duration.zero })
  }
}

// the presented token still names the stored session, and the first secret signed it: nothing to send
const unchanged = (presented: Verified | undefined, id: string) =>
  presented !== undefined && presented.id === id && presented.current

const cookieTransport = (signer: Signer, options: CookieOptions): ResolvedTransport => {
  const cookie = sessionCookie(options)
  const { name, persistent } = cookie
  return {
    needsTime: persistent,
    readsTime: false,
    adopts: never,
    read: (request) => {
      const value = readCookie(request.headers.cookie, name)
      return value === undefined ? undefined : signer.open(value)
    },
    write: (response, outcome, presented, now) => {
      const id = outcome.storedId
      if (id !== undefined) {
        // a cookie an older secret signed is signed again with the first one (rotation without logouts)
        // a persistent cookie (or a remembered session's, see Session.rememberFor) follows every save
        if (unchanged(presented, id) && !((persistent || outcome.persistent) && outcome.saved)) return response
        return cookie.set(response, signer.sign(id), outcome.expiresAt, now, outcome.persistent)
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
    readsTime: false,
    adopts: never,
    read: (request) => {
      const value = request.headers[name]
      return value === undefined || value.length > MAX_TOKEN ? undefined : signer.open(value)
    },
    write: (response, outcome, presented) => {
      const id = outcome.storedId
      if (id !== undefined) {
        return unchanged(presented, id) ? response : HttpServerResponse.setHeader(response, name, signer.sign(id))
      }
      // an empty header: the client must forget its id
      return presented !== undefined && outcome.touched ? HttpServerResponse.setHeader(response, name, "") : response
    },
    missing: () => Option.none()
  }
}

/**
 * The path and query of a request as a same-origin path: dot segments resolved, and any run of
 * leading slashes and backslashes collapsed into one slash, so that `//host`, `/.//host`,
 * `/%2e//host` or `/\host` can never become a scheme-relative URL to another origin.
 *
 * @internal
 */
export const sameOriginUrl = (requestUrl: string): URL => {
  // the request target is a path here (an absolute-form target gives only its path and query):
  // never parsed with an authority of its own
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(requestUrl)
  const url = absolute
    ? new URL(requestUrl)
    : new URL(`http://localhost/${requestUrl.replace(/^[/\\]+/, "")}`)
  const collapsed = url.pathname.replace(/^[/\\]+/, "/")
  return new URL(`http://localhost${collapsed}${url.search}`)
}

const queryTransport = (signer: Signer, rawName: string | undefined, adoptWindow: number): ResolvedTransport => {
  const name = rawName ?? "sid"
  const noReferrer = (response: HttpServerResponse.HttpServerResponse) =>
    response.headers["referrer-policy"] === undefined
      ? HttpServerResponse.setHeader(response, "referrer-policy", "no-referrer")
      : response
  return {
    needsTime: false,
    readsTime: true,
    // the id travels in the URL before anything is stored: a signed id that is not stored yet is
    // kept only while it is fresh (minted less than the idle timeout ago, so it cannot have been
    // stored and expired since); an older one is an expired or destroyed session, never brought back
    adopts: (presented, now) => presented.mintedAt !== undefined && now < presented.mintedAt + adoptWindow,
    read: (request) => {
      const value = sameOriginUrl(request.url).searchParams.get(name)
      return value === null || value.length > MAX_TOKEN ? undefined : signer.open(value)
    },
    write: (response, outcome, presented) => {
      const id = outcome.storedId
      if (id === undefined || unchanged(presented, id)) return response
      // a new id (regenerated, a new session after expiry, or re-signed after a rotation): the app
      // links with it from now on
      return HttpServerResponse.setHeader(response, "x-session-id", signer.sign(id))
    },
    missing: (request, now) => {
      // only a safe method is redirected: a POST's body would be lost on the way
      if (request.method !== "GET" && request.method !== "HEAD") return Option.none()
      const url = sameOriginUrl(request.url)
      url.searchParams.set(name, signer.mint(core.newId(), now))
      return Option.some(noReferrer(HttpServerResponse.redirect(`${url.pathname}${url.search}`, { status: 302 })))
    },
    everyResponse: noReferrer
  }
}

const SEALED_ID = "sealed"

const sealedCookieTransport = (
  sealed: sealedCookie.SealedCookieInternal,
  cookie: ReturnType<typeof sessionCookie>,
  maxValueLength: number
): ResolvedTransport => {
  const name = cookie.name
  return {
    needsTime: true,
    readsTime: false,
    adopts: never,
    read: () => undefined,
    write: (response) => response,
    missing: () => Option.none(),
    perRequest: (request, now) => {
      // one limit for reading and writing: a cookie over it was not written by this layer
      const value = readCookie(request.headers.cookie, name, maxValueLength)
      const opened = value === undefined ? undefined : sealed.open(value, now)
      // the one record of this request: the session the cookie carries, and what the unit commits
      let slot: { id: string; record: SessionRecord; sealed: string | undefined } | undefined = opened !== undefined
        ? { id: SEALED_ID, record: opened.record, sealed: undefined }
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
        presented: opened !== undefined ? SEALED_ID : undefined,
        store,
        write: (response, outcome, now) => {
          if (slot?.sealed !== undefined) return cookie.set(response, slot.sealed, outcome.expiresAt, now)
          if (cleared && slot === undefined && value !== undefined) return cookie.expire(response)
          // opened with an older secret, and in use: sealed again with the first one (rotation)
          if (slot !== undefined && opened !== undefined && !opened.current && outcome.touched) {
            const resealed = sealed.seal(slot.record)
            if (Either.isRight(resealed)) return cookie.set(response, resealed.right, slot.record.expiresAt, now)
          }
          return response
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// construction
// ---------------------------------------------------------------------------------------------

/** Runs a start-up step that throws a `SessionOptionError` for a wrong option (anything else is a defect). */
const checked = <A>(build: () => A): Effect.Effect<A, SessionOptionError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(build())
    } catch (error) {
      return error instanceof SessionOptionError ? Effect.fail(error) : Effect.die(error)
    }
  })

const resolveConfig = (
  options: Options,
  store: SessionStoreService,
  transport: (session: core.ResolvedOptions) => ResolvedTransport,
  signer: Signer
): HttpSessionService => {
  const session = core.prepare({
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
    transport: transport(session),
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
      const transportOptions = options.transport ?? { _tag: "Cookie" }
      if (transportOptions._tag === "SealedCookie") {
        throw new SessionOptionError({
          option: "transport",
          detail: "the SealedCookie transport needs no store: use HttpSession.layerSealed"
        })
      }
      return resolveConfig(
        options,
        store,
        (session) =>
          transportOptions._tag === "Cookie"
            ? cookieTransport(signer, { ...options.cookie, ...transportOptions })
            : transportOptions._tag === "Header"
            ? headerTransport(signer, transportOptions.name)
            : queryTransport(signer, transportOptions.name, Math.min(session.idleMillis, session.absoluteMillis)),
        signer
      )
    }))

/** @internal */
export const layer = (options: Options): Layer.Layer<HttpSessionService, SessionOptionError, SessionStore> =>
  Layer.effect(HttpSessionTag, make(options))

/** @internal */
export const layerSealed = (
  options: SealedOptions
): Layer.Layer<HttpSessionService, SessionStoreError | SessionOptionError> =>
  Layer.effect(
    HttpSessionTag,
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
      const sealed = yield* sealedCookie.makeInternal({
        secrets: options.secrets,
        maxLength: maxValueLength,
        retainExpired: options.retainExpired,
        context: cookie.name
      })
      // every request brings its own one-record store: there is no shared one
      return resolveConfig(options, noSharedStore, () => sealedCookieTransport(sealed, cookie, maxValueLength), signer)
    })
  )

// the smallest value limit allowed: a seal's own overhead and a small record
const MIN_SEALED_VALUE = 256

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
  presented: Verified | undefined
) =>
(response: HttpServerResponse.HttpServerResponse) => {
  // called once the request's units have ended (a continuation of the handler): one step
  const outcome = manager.outcome()
  return config.transport.needsTime || outcome.persistent
    ? Effect.clockWith((clock) =>
      Effect.succeed(config.transport.write(response, outcome, presented, clock.unsafeCurrentTimeMillis()))
    )
    : Effect.succeed(config.transport.write(response, outcome, presented, 0))
}

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
    const transport = config.transport
    if (transport.perRequest !== undefined) {
      const perRequest = transport.perRequest
      return Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => handle(app, config, perRequest(request, now), request, now)
      )
    }
    if (transport.readsTime) {
      const handled = Effect.flatMap(Clock.currentTimeMillis, (now) => handle(app, config, undefined, request, now))
      const everyResponse = transport.everyResponse
      return everyResponse === undefined
        ? handled
        // error responses are made later: a pre-response handler reaches them too
        : Effect.zipRight(
          HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(everyResponse(response))),
          handled
        )
    }
    return handle(app, config, undefined, request, 0)
  }) as any

const safeMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"])

const handle = <E, R>(
  app: HttpApp.Default<E, R>,
  config: HttpSessionService,
  perRequest: PerRequest | undefined,
  request: HttpServerRequest.HttpServerRequest,
  now: number
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> => {
  const transport = config.transport
  const verified = perRequest === undefined ? transport.read(request) : undefined
  const presented = perRequest === undefined ? verified?.id : perRequest.presented
  if (presented === undefined && perRequest === undefined) {
    const redirect = transport.missing(request, now)
    if (Option.isSome(redirect)) {
      return Effect.succeed(redirect.value)
    }
  }
  const store = perRequest?.store ?? config.store
  const manager = core.unsafeMakeManagerFor(
    store,
    config.session,
    presented,
    // the sealed cookie's one record is its own; a minted query id while it is fresh
    perRequest !== undefined || (verified !== undefined && transport.adopts(verified, now))
  )
  const writeBack = perRequest === undefined
    ? applyTransport(config, manager, verified)
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
                return Effect.as(logFailure("the session's commit failed", store, error), config.onSessionError(error))
              }
            })
          }
          // the session store failed under the handler, which did not handle it: 503, as a commit
          const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
          if (Option.isSome(failure) && isSessionStoreError(failure.value)) {
            return Effect.as(
              Effect.zipRight(core.rollback(session), logFailure("the session store failed", store, failure.value)),
              config.onSessionError(failure.value)
            )
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

// what a failed commit leaves in the log: the store's name and the error's tag, never an id or data
const logFailure = (message: string, store: SessionStoreService, error: SessionStoreError | SessionConflict) =>
  Effect.annotateLogs(Effect.logWarning(`effect-session: ${message}`), { store: store.name, error: error._tag })
