/**
 * Sessions for `@effect/platform` HTTP apps.
 *
 * The middleware gives each request a `SessionManager` and runs the handler as one unit of work:
 * it **commits** when the handler succeeds with a response whose status `commitOn` accepts (by
 * default any status below 400), and it is **discarded** when the handler fails, dies, is
 * interrupted (the client went away) or answers with a 4xx/5xx status. A failed commit replaces the
 * response: 503 when the store failed, 409 on a conflict, 503 with `Retry-After: 1` and "the session
 * is busy" when the session's lock was not free within `lockTimeout` (contention, not an outage;
 * `onSessionError` to change any of them) — never a 200 with lost data.
 *
 * The session travels in a signed cookie by default: HMAC-SHA256 over the id, `HttpOnly`,
 * `SameSite=Lax`, `Path=/`, `Secure` (turn it off only for plain-HTTP development). A cookie that
 * does not verify is ignored without asking the store. No cookie is sent for a session that was
 * never written to.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { Effect, Layer, Option, Redacted, Schema } from "effect"
 * import { HttpSession, Session, SessionStore } from "effect-session"
 *
 * const Count = Session.key("count", Schema.Number)
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.post("/counter", Effect.gen(function*() {
 *     const n = yield* Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)
 *     return HttpServerResponse.text(String(n))
 *   })),
 *   HttpSession.middleware
 * )
 *
 * const SessionLive = HttpSession.layer({ secrets: [Redacted.make("a random secret of 32 bytes or more!!")] }).pipe(
 *   Layer.provide(SessionStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApiMiddleware_ from "@effect/platform/HttpApiMiddleware"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigError_ from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type RequestState, withState } from "./internal/current.js"
import * as config_ from "./internal/http/config.js"
import * as internal from "./internal/http/middleware.js"
import type { Transport as ResolvedTransport } from "./internal/http/transport.js"
import type { ResolvedOptions } from "./internal/options.js"
import { SessionManagerTag, SessionTag } from "./internal/tags.js"
import type { Session, SessionService } from "./Session.js"
import * as SessionError_ from "./SessionError.js"
import {
  type SessionConflict,
  type SessionDataError,
  type SessionOptionError,
  type SessionStateError,
  type SessionStoreError
} from "./SessionError.js"
import type { SessionManager, SessionOptions } from "./SessionManager.js"
import type { SessionStore, SessionStoreService } from "./SessionStore.js"

/**
 * Cookie attributes. Defaults: name `session`, `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, no
 * `Domain`, a browser-session cookie (`persistent: false`: no `Max-Age`, gone when the browser
 * closes). With `persistent: true` the cookie's `Max-Age` follows the session's expiry and is
 * refreshed when the session is saved.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const cookie: HttpSession.CookieOptions = { name: "__Host-sid", persistent: true, sameSite: "strict" }
 * const SessionLive = HttpSession.layer({ secrets: [Redacted.make("a random secret of 32 bytes or more!!")], cookie })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CookieOptions {
  /**
   * The cookie's name. Default: `session`. Recommended: `__Host-session` (or any `__Host-` name),
   * which browsers accept only from a secure origin, `Secure`, with `Path=/` and no `Domain`, so a
   * sibling subdomain cannot plant ("toss") a cookie of that name. The prefix rules are checked at
   * start-up: `__Host-` needs `secure`, no `domain` and `path` `/`; `__Secure-` needs `secure`.
   */
  readonly name?: string | undefined
  /** Send the cookie over HTTPS only. Default: `true`; turn it off only for plain-HTTP development. */
  readonly secure?: boolean | undefined
  /** Hide the cookie from scripts. Default: `true`. */
  readonly httpOnly?: boolean | undefined
  /** Default: `lax`. `none` requires `secure`. */
  readonly sameSite?: "lax" | "strict" | "none" | undefined
  /** Default: `/`. */
  readonly path?: string | undefined
  /** Default: none (the cookie goes to the host that set it only). */
  readonly domain?: string | undefined
  /** A cookie with a `Max-Age` that follows the session's expiry. Default: `false` (a browser-session cookie). */
  readonly persistent?: boolean | undefined
  /** The `Partitioned` attribute (CHIPS), for a cookie in a third-party context. Default: `false`. */
  readonly partitioned?: boolean | undefined
  /** The `Priority` attribute. Default: none. */
  readonly priority?: "low" | "medium" | "high" | undefined
}

/**
 * How the session id travels:
 *
 * - `Cookie` (default): a signed cookie.
 * - `Header`: a signed token in a request header, echoed in the same response header when it
 *   changes (an empty value: forget it). For APIs and non-browser clients. Default name
 *   `x-session-id`.
 * - `Query`: the signed id in a URL query parameter (default `sid`); a `GET` or `HEAD` without one
 *   is redirected (302) to the same path (always a same-origin path) with a new id, minted with its
 *   time; other methods reach the handler (their body is not lost). A minted id is adopted only
 *   while it is younger than the idle timeout, so an expired or destroyed session never comes back
 *   through an old URL. Every response carries `Referrer-Policy: no-referrer` unless the app set
 *   one. **Legacy**: ids leak through logs, history and shared links. Off unless chosen.
 *
 * The sealed cookie (the session data itself in the cookie, no store) is not a variant of this
 * type: it is chosen with {@link layerSealed}, whose options differ.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * // an API for mobile clients: the session token travels in the `x-api-session` header
 * const transport: HttpSession.Transport = { _tag: "Header", name: "x-api-session" }
 * const secrets = [Redacted.make("a random secret of 32 bytes or more!!")]
 * const SessionLive = HttpSession.layer({ secrets, transport })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Transport =
  | { readonly _tag: "Cookie" } & CookieOptions
  | { readonly _tag: "Header"; readonly name?: string | undefined }
  | { readonly _tag: "Query"; readonly name?: string | undefined }

/**
 * Options of the HTTP session layer.
 *
 * - `secrets`: the signing secrets, at least 32 bytes each; the first signs, all verify (rotate by
 *   putting the new secret first). A cookie or token that an older secret signed is signed again
 *   with the first on the response of any request that uses the session (reads included; a request
 *   that never touches the session gets nothing), so an active session survives the old secret's
 *   removal; keep the old secret until the sessions not used since have expired.
 * - `transport`: see {@link Transport}; `cookie`: the cookie's attributes.
 * - `idleTimeout`, `absoluteTimeout`, `touchInterval`: see `SessionManager.SessionOptions`.
 * - `commitOn`: which response statuses commit the handler's unit. Default: below 400.
 * - `onSessionError`: the response when the commit fails, or when the session store fails under a
 *   handler that does not handle the `SessionStoreError` itself. Default: 503 (store), 409 (conflict),
 *   503 with `Retry-After: 1` for a lock-wait timeout (a `SessionStoreError` whose `operation` is `lock`);
 *   under {@link layerApi}, the declared {@link SessionUnavailable} (503, its JSON body). Either way
 *   the failure is logged as a warning with the store's name and the error's tag only.
 *
 * @example
 * ```ts
 * import { HttpServerResponse } from "@effect/platform"
 * import { Redacted } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const options: HttpSession.Options = {
 *   // the first signs, all verify: rotate by putting a new secret first
 *   secrets: [Redacted.make("the new secret, 32 bytes or longer"), Redacted.make("the previous one, still verifying")],
 *   idleTimeout: "20 minutes",
 *   commitOn: (status) => status < 500, // keep what a 4xx handler wrote, e.g. failed login attempts
 *   onSessionError: (error) =>
 *     HttpServerResponse.text("Please try again", { status: error._tag === "SessionConflict" ? 409 : 503 })
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends SessionOptions {
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly transport?: Transport | undefined
  readonly cookie?: CookieOptions | undefined
  readonly commitOn?: ((status: number) => boolean) | undefined
  readonly onSessionError?:
    | ((error: SessionStoreError | SessionConflict) => HttpServerResponse.HttpServerResponse)
    | undefined
}

/**
 * Signs session ids with HMAC-SHA256: the first secret signs, every secret verifies (key rotation).
 * `verify` gives the id of a value that verifies, in constant time, and `undefined` for anything
 * else.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * // the cookie value a test client sends for a session id
 * const cookieFor = (id: string) => Effect.map(HttpSession.HttpSession, ({ signer }) => `session=${signer.sign(id)}`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Signer {
  /** `<id>.<mac>`: the id and its HMAC, base64url. */
  readonly sign: (id: string) => string
  /** The id of a value that `sign` made with one of the secrets, or `undefined`. */
  readonly verify: (value: string) => string | undefined
}

/**
 * The resolved HTTP session configuration: the service of the {@link HttpSession} tag, made by
 * {@link layer}, {@link layerConfig} or {@link layerSealed}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const storeName = Effect.map(HttpSession.HttpSession, (config) => config.store.name) // "memory", "redis", ...
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpSessionService {
  /** The session store (for a sealed cookie: a stand-in; the data lives in the cookie). */
  readonly store: SessionStoreService
  /** Signs and verifies the ids the transport carries. */
  readonly signer: Signer
  /** Which response statuses commit the handler's unit. */
  readonly commitOn: (status: number) => boolean
  /** The response when a commit or the store fails. */
  readonly onSessionError: (error: SessionStoreError | SessionConflict) => HttpServerResponse.HttpServerResponse
  /**
   * The transport, resolved from the options.
   *
   * @internal
   */
  readonly transport: ResolvedTransport
  /**
   * The options of every request's `SessionManager`, resolved once.
   *
   * @internal
   */
  readonly session: ResolvedOptions
  /**
   * Whether `onSessionError` is the app's own (HttpApi then keeps it instead of `SessionUnavailable`).
   *
   * @internal
   */
  readonly customOnSessionError: boolean
}

/**
 * The HTTP session configuration. Provided by {@link layer}, {@link layerConfig} or
 * {@link layerSealed}; required by the middleware.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
 * import { Effect, Layer, Redacted } from "effect"
 * import { HttpSession, Session, SessionError, SessionStore } from "effect-session"
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/", Effect.as(Session.set("seen", true), HttpServerResponse.text("hello"))),
 *   HttpSession.middleware // requires HttpSession
 * )
 *
 * // fails at start-up with a SessionOptionError if an option is wrong
 * const SessionLive: Layer.Layer<HttpSession.HttpSession, SessionError.SessionOptionError> = HttpSession.layer({
 *   secrets: [Redacted.make("a random secret of 32 bytes or more!!")]
 * }).pipe(Layer.provide(SessionStore.layerMemory()))
 *
 * const ServerApp = HttpServer.serve(app).pipe(Layer.provide(SessionLive))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const HttpSession: Context.Tag<HttpSession, HttpSessionService> = config_.HttpSessionTag

/**
 * The identifier of the {@link HttpSession} tag.
 *
 * @since 0.1.0
 * @category tags
 */
export interface HttpSession {
  readonly _: unique symbol
}

/**
 * The HTTP session configuration as a layer, on the `SessionStore` in context. Invalid options
 * fail the layer at start-up with a `SessionOptionError` naming the option (never its value): no
 * secret, a secret shorter than 32 bytes, a `__Host-` cookie that is not `Secure`, has a `Domain`
 * or a `Path` other than `/`, a `__Secure-` cookie that is not `Secure`, `SameSite=None` or
 * `Partitioned` without `Secure`, a cookie name, path or domain that `Set-Cookie` cannot carry.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Layer, Redacted } from "effect"
 * import { HttpSession } from "effect-session"
 * import * as SqlStore from "effect-session/SessionStore/Sql"
 *
 * const SessionLive = HttpSession.layer({
 *   secrets: [Redacted.make(process.env.SESSION_SECRET!)],
 *   cookie: { persistent: true },
 *   idleTimeout: "2 hours"
 * }).pipe(
 *   Layer.provide(SqlStore.layerStore()),
 *   Layer.provide(SqliteClient.layer({ filename: "sessions.db" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options: Options) => Layer.Layer<HttpSession, SessionOptionError, SessionStore> = config_.layer

/**
 * Options of {@link layerSealed}: those of {@link Options} but the transport, plus the longest
 * sealed value (`maxLength`, default 4096) and how long an expired session can still be reported
 * (`retainExpired`, default 1 hour).
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const options: HttpSession.SealedOptions = {
 *   secrets: [Redacted.make("a random secret of 32 bytes or more!!")],
 *   cookie: { name: "prefs", persistent: true },
 *   absoluteTimeout: "30 days",
 *   maxLength: 3800 // name and value together; at most 4096, what browsers keep
 * }
 * const SessionLive = HttpSession.layerSealed(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SealedOptions extends Omit<Options, "transport"> {
  /**
   * The longest cookie, its name and its sealed value together, in bytes (ASCII), as browsers
   * count it: a session that seals to more fails its commit (a `SessionStoreError` whose `cause` is
   * a `SealedCookieTooLarge`), and a longer cookie on a request is not opened (one limit for both
   * ways). Default and maximum: 4096, the browsers' limit; above it, or below the name's length
   * plus 256, the layer fails with a `SessionOptionError`.
   */
  readonly maxLength?: number | undefined
  /** How long after its expiry a sealed session is still reported as expired. Default: 1 hour. */
  readonly retainExpired?: Duration.DurationInput | undefined
}

/**
 * Sessions whose data lives in the cookie itself, sealed with AES-256-GCM (see
 * `effect-session/HttpSession/SealedCookie`): no store at all. The trade-offs: no server-side revocation
 * (logout only drops the browser's copy), no `deleteByUser`, no compare-and-set between concurrent
 * requests (the last response's cookie wins), and the data travels with every request; a session
 * that seals to more than `maxLength` (name and value, 4096 by default) fails its commit with a
 * `SessionStoreError` (HTTP 503) rather than being dropped by the browser. A cookie that an older
 * secret sealed is sealed again with the first one on a request that uses the session. Invalid
 * options fail the layer with a `SessionOptionError`.
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
 * @category layers
 */
export const layerSealed: (
  options: SealedOptions
) => Layer.Layer<HttpSession, SessionStoreError | SessionOptionError> = config_.layerSealed

/**
 * The options read from `Config`, e.g. environment variables. An option the layer refuses (a
 * secret shorter than 32 bytes, which is what a comma inside a secret read with `Config.array`
 * gives; a wrong `__Host-` cookie...) fails it with a `ConfigError` (`InvalidData` at the option's
 * path), never a defect:
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const SessionLive = HttpSession.layerConfig({
 *   secrets: Config.array(Config.redacted("SESSION_SECRET")),
 *   idleTimeout: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault("30 minutes")),
 *   cookie: Config.all({ secure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true)) })
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<HttpSession, ConfigError.ConfigError, SessionStore> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (options) => Layer.mapError(layer(options), toConfigError)))

// an option read from Config that the layer refuses is the Config's error: what the layer's type promises
const toConfigError = (error: SessionOptionError): ConfigError.ConfigError =>
  ConfigError_.InvalidData(error.option.split("."), error.detail)

/**
 * The middleware for `HttpRouter` / `HttpApp` apps. It works wherever it is put: on the router or
 * app (preferred), or as the server's middleware (`HttpServer.serve(app, HttpSession.middleware)`),
 * where the app it is given writes the response itself: it then ends the unit and sets its cookie
 * in a pre-response handler, just before the response is written. At that placement a commit that
 * meets a conflict is not run again (the handler has answered already): it answers 409.
 *
 * The handler finds its session through the request, without a per-request copy of the fiber's
 * context: `Session.get` & co., and `yield* Session.Session` (a handle on the request's current
 * unit), work as before, and a handler that uses the session without the middleware is a type
 * error (`Session` stays in its requirements).
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { Effect, Option, Schema } from "effect"
 * import { HttpSession, Session } from "effect-session"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/", Effect.gen(function*() {
 *     const n = yield* Session.modify(Visits, (n) => Option.getOrElse(n, () => 0) + 1)
 *     return HttpServerResponse.text(`visit ${n}`)
 *   })),
 *   HttpSession.middleware // the router itself: each request's handler is one unit of work
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const middleware: <E, R>(
  app: HttpApp.Default<E, R>
) => HttpApp.Default<E, Exclude<R, Session | SessionManager> | HttpSession> = internal.middleware

/**
 * Marks a handler that opens its own units of work (`Session.transaction`, several per request)
 * instead of running as one unit.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { Effect, Option } from "effect"
 * import { HttpSession, Session } from "effect-session"
 *
 * const checkout = HttpSession.manual(Effect.gen(function*() {
 *   const cart = yield* Session.transaction(Session.get("cart")) // a short unit: read the cart
 *   // ... charge the card: not in a unit, so the session is not held meanwhile
 *   yield* Session.transaction(Session.remove("cart")) // a second unit
 *   return HttpServerResponse.text(Option.isSome(cart) ? "ordered" : "empty cart")
 * }))
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.post("/checkout", checkout), HttpSession.middleware)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const manual: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = internal.manual

/**
 * The middleware for `HttpLayerRouter` apps, as a global middleware layer.
 *
 * @example
 * ```ts
 * import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
 * import { Effect, Layer } from "effect"
 * import { HttpSession, Session } from "effect-session"
 *
 * const Routes = HttpLayerRouter.add(
 *   "POST",
 *   "/counter",
 *   Effect.map(
 *     Session.modify("count", (n) => (typeof n === "number" ? n : 0) + 1),
 *     (n) => HttpServerResponse.text(String(n))
 *   )
 * )
 *
 * const Server = HttpLayerRouter.serve(Routes.pipe(Layer.provide(HttpSession.layerRouter)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRouter: Layer.Layer<
  | HttpLayerRouter.Request.From<"Requires", Session | SessionManager>
  | HttpLayerRouter.Request.From<"GlobalRequires", Session | SessionManager>,
  never,
  HttpLayerRouter.HttpRouter | HttpSession
> = HttpLayerRouter.middleware<{ provides: Session | SessionManager }>()(
  Effect.map(config_.HttpSessionTag, (config) => {
    const middleware = internal.middlewareWith(config)
    return (
      effect: Effect.Effect<HttpServerResponse.HttpServerResponse, HttpLayerRouter.unhandled, Session | SessionManager>
    ) => middleware(effect)
  }),
  { global: true }
)

/**
 * The `HttpApi` middleware that gives handlers the `Session` (their unit of work). An
 * `HttpApiMiddleware` runs before the handler and cannot see its outcome, so the unit is run by
 * {@link layerApi}, which wraps the whole API app: a handler that fails with a declared error
 * answers with its 4xx/5xx status, and is therefore discarded by the default `commitOn`.
 *
 * @example
 * ```ts
 * import { HttpApiGroup, HttpApiEndpoint } from "@effect/platform"
 * import { Schema } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const Account = HttpApiGroup.make("account")
 *   .add(HttpApiEndpoint.post("login", "/login").addSuccess(Schema.String))
 *   .middleware(HttpSession.ApiSession)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ApiSession extends HttpApiMiddleware.Tag<ApiSession>()("effect-session/HttpSession/ApiSession", {
  provides: SessionTag
}) {}

/**
 * The types of {@link ApiSession}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * // what an app middleware of its own gets from ApiSession: the effect that gives the request's unit
 * const currentUnit = Effect.map(HttpSession.ApiSession, (service: HttpSession.ApiSession.Service) => service)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export declare namespace ApiSession {
  /**
   * The service of the {@link ApiSession} tag: an effect that gives the request's unit of work.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { HttpSession } from "effect-session"
   *
   * // in the layer of an app middleware that runs after ApiSession
   * const readUser = Effect.gen(function*() {
   *   const currentSession: HttpSession.ApiSession.Service = yield* HttpSession.ApiSession
   *   return Effect.flatMap(currentSession, (session) => session.get("user"))
   * })
   * ```
   *
   * @since 0.1.0
   * @category models
   */
  export type Service = HttpApiMiddleware_.HttpApiMiddleware<SessionService, never>
}

/**
 * The `HttpApi` middleware that gives handlers the `SessionManager`. No longer needed: {@link layerApi}
 * provides the request's `SessionManager` to every handler, so a group that declares only
 * {@link ApiSession} can use `Session.failIfExpired`, `Session.expired` and `HttpSession.manual`.
 * Kept so that groups that declare it still compile.
 *
 * @example
 * ```ts
 * import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { Schema } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * // handlers of this group use HttpSession.manual and Session.transaction
 * const Checkout = HttpApiGroup.make("checkout")
 *   .add(HttpApiEndpoint.post("pay", "/pay").addSuccess(Schema.String))
 *   .middleware(HttpSession.ApiSessionManager)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ApiSessionManager
  extends HttpApiMiddleware.Tag<ApiSessionManager>()("effect-session/HttpSession/ApiSessionManager", {
    provides: SessionManagerTag
  })
{}

const ofRequest = <A>(f: (state: RequestState) => A): Effect.Effect<A> => withState((state) => Effect.succeed(f(state)))

/**
 * What an `HttpApi` app needs for sessions: the {@link ApiSession} middleware's implementation, the
 * request's `SessionManager` (for `Session.failIfExpired`, `Session.expired`, `HttpSession.manual`:
 * a group declares {@link ApiSession} and nothing else), and the wrapper around the API app that
 * runs each request's unit of work. A failed commit answers the declared {@link SessionUnavailable}
 * (503, its JSON body), unless `onSessionError` is set. Provide it to `HttpApiBuilder.api(...)`.
 *
 * @example
 * ```ts
 * import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpSession, Session } from "effect-session"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * const Api = HttpApi.make("app").add(
 *   HttpApiGroup.make("visits")
 *     .add(HttpApiEndpoint.post("visit", "/visit").addSuccess(Schema.Number))
 *     .middleware(HttpSession.ApiSession)
 * )
 *
 * const VisitsLive = HttpApiBuilder.group(Api, "visits", (handlers) =>
 *   handlers.handle("visit", () => Effect.orDie(Session.modify(Visits, (n) => Option.getOrElse(n, () => 0) + 1))))
 *
 * const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide(VisitsLive), Layer.provide(HttpSession.layerApi))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerApi: Layer.Layer<ApiSession | ApiSessionManager | SessionManager, never, HttpSession> = Layer
  .mergeAll(
    Layer.succeed(ApiSession, ofRequest((state) => state.unit)),
    Layer.succeed(ApiSessionManager, ofRequest((state) => state.manager)),
    // the SessionManager of every request (Session.failIfExpired, Session.expired, Session.transaction):
    // its tag's default, which finds the request's (internal/tags.ts); nothing to put in the context
    Layer.succeedContext(Context.empty() as Context.Context<SessionManager>),
    HttpApiBuilder.middleware(
      Effect.map(config_.HttpSessionTag, (config) =>
        // a failed commit answers as the endpoints declare it: SessionUnavailable, unless the app
        // chose its own answer with onSessionError
        internal.middlewareWith(
          config.customOnSessionError ? config : { ...config, onSessionError: unavailableResponse }
        ))
    )
  )

// the response HttpApi gives for a declared SessionUnavailable (what orUnavailable leads to)
const unavailableResponse = (): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(Schema.encodeSync(SessionUnavailable)(new SessionUnavailable()), { status: 503 })

/**
 * A declared `HttpApi` error (503) for a session store that failed under a handler. Add it to the
 * endpoints (or groups) that use the session, and map the session's errors with
 * {@link orUnavailable}.
 *
 * @example
 * ```ts
 * import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { Schema } from "effect"
 * import { HttpSession } from "effect-session"
 *
 * const Cart = HttpApiGroup.make("cart")
 *   .add(HttpApiEndpoint.get("count", "/count").addSuccess(Schema.Number))
 *   .addError(HttpSession.SessionUnavailable)
 *   .middleware(HttpSession.ApiSession)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const SessionUnavailable: typeof SessionError_.SessionUnavailable = SessionError_.SessionUnavailable

/**
 * The instance type of {@link SessionUnavailable}.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionUnavailable = SessionError_.SessionUnavailable

/**
 * Maps the session's errors for an `HttpApi` handler: a failed store (`SessionStoreError`) becomes
 * the declared {@link SessionUnavailable} (503); a refused write (`SessionStateError`) or data that
 * does not fit its key (`SessionDataError`) is a bug in the handler, and becomes a defect (500).
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { HttpSession, Session } from "effect-session"
 *
 * const Count = Session.key("count", Schema.Number)
 * // in HttpApiBuilder.group(...): handlers.handle("count", () => increment)
 * const increment = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1).pipe(HttpSession.orUnavailable)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const orUnavailable = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, Mapped> | SessionUnavailable, R> =>
  // `Exclude<E, Extract<E, Mapped>>`, what catchIf gives, is `Exclude<E, Mapped>`: TypeScript cannot
  // prove it for a generic E
  Effect.catchIf(
    self,
    (e): e is Extract<E, Mapped> => isMapped(e),
    (e) =>
      e instanceof SessionError_.SessionStoreError || e instanceof SessionError_.SessionConflict
        ? Effect.fail(new SessionUnavailable())
        : Effect.die(e)
  ) as Effect.Effect<A, Exclude<E, Mapped> | SessionUnavailable, R>

type Mapped = SessionStoreError | SessionConflict | SessionStateError | SessionDataError

// the errors orUnavailable maps (a SessionTimeout is the app's to answer; SessionUnavailable is mapped already)
const isMapped = (u: unknown): u is Mapped =>
  u instanceof SessionError_.SessionStoreError || u instanceof SessionError_.SessionConflict ||
  u instanceof SessionError_.SessionStateError || u instanceof SessionError_.SessionDataError
