import type { HttpApp } from "@effect/platform"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { type Context, Effect, Layer, Option, Redacted, Schema, type Scope } from "effect"
import { HttpSession, Session, type SessionStore } from "effect-session"
import { createServer } from "node:http"

export const secret = Redacted.make("test secret: 32 bytes or more, for signing ids")
export const otherSecret = Redacted.make("another secret, also 32 bytes or more long!!")

/** The counter's key in the test apps. */
export const Count = Session.key("count", Schema.Number)

/** A plain-HTTP test server on 127.0.0.1, port 0; gives its base URL. */
export const serve = <E, R>(
  app: HttpApp.Default<E, R>,
  context: Layer.Layer<R, unknown, never>
): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* Layer.build(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
    const ctx = yield* Layer.build(context)
    yield* HttpServer.serveEffect(app).pipe(Effect.provide(server), Effect.provide(ctx))
    return yield* HttpServer.addressWith((address) =>
      address._tag === "TcpAddress"
        ? Effect.succeed(`http://${address.hostname}:${address.port}`)
        : Effect.dieMessage("not a TCP address")
    ).pipe(Effect.provide(server))
  }).pipe(Effect.orDie)

export interface Reply {
  readonly status: number
  readonly body: string
  readonly headers: Headers
  readonly setCookies: ReadonlyArray<string>
}

/** What a browser's jar does with a response's `Set-Cookie` lines: keep, replace, or forget (expired, empty). */
export const keepCookies = (jar: Map<string, string>, setCookies: ReadonlyArray<string>): void => {
  for (const line of setCookies) {
    const [pair, ...attributes] = line.split(";")
    const eq = pair!.indexOf("=")
    const name = pair!.slice(0, eq).trim()
    const value = pair!.slice(eq + 1).trim()
    const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
    if (expired || value === "") jar.delete(name)
    else jar.set(name, value)
  }
}

/** The counter's handler: increments the session's count and answers it. */
export const increment = Effect.map(
  Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1),
  (n) => HttpServerResponse.text(String(n))
)

/** A counter app: POST /counter increments the session's count and answers it, GET /counter reads it. */
export const counterApp = HttpRouter.empty.pipe(
  HttpRouter.post("/counter", increment),
  HttpRouter.get("/counter", Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(String(n)))),
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok"))),
  HttpSession.middleware
)

/** A fetch client with a cookie jar (cookies only: attributes are checked on `setCookies`). */
export const client = (base: string) => {
  const jar = new Map<string, string>()
  const request = (method: string, path: string, init: RequestInit = {}) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers = new Headers(init.headers)
      if (jar.size > 0 && !headers.has("cookie")) {
        headers.set("cookie", Array.from(jar, ([k, v]) => `${k}=${v}`).join("; "))
      }
      const response = await fetch(base + path, { ...init, method, headers, redirect: "manual" })
      const setCookies = response.headers.getSetCookie()
      keepCookies(jar, setCookies)
      return { status: response.status, body: await response.text(), headers: response.headers, setCookies }
    })
  return {
    jar,
    get: (path: string, init?: RequestInit) => request("GET", path, init),
    post: (path: string, init?: RequestInit) => request("POST", path, init)
  }
}

/** The HTTP session layer for tests: plain HTTP (no Secure) unless told otherwise. */
export const sessionLayer = (
  store: Layer.Layer<SessionStore.SessionStore>,
  options: Partial<HttpSession.Options> = {}
) =>
  HttpSession.layer({ secrets: [secret], ...options, cookie: { secure: false, ...options.cookie } }).pipe(
    Layer.provideMerge(store)
  )

/** Serves a server layer (HttpLayerRouter.serve, HttpApiBuilder.serve) on 127.0.0.1, port 0. */
export const serveLayer = <E>(
  layer: Layer.Layer<never, E, Layer.Layer.Success<ReturnType<typeof NodeHttpServer.layer>>>
): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const server = NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })
    const ctx = yield* Layer.build(Layer.provideMerge(layer, server))
    return yield* HttpServer.addressWith((address) =>
      address._tag === "TcpAddress"
        ? Effect.succeed(`http://${address.hostname}:${address.port}`)
        : Effect.dieMessage("not a TCP address")
    ).pipe(Effect.provide(ctx))
  }).pipe(Effect.orDie)

/**
 * Requests to an app run in process, with no socket: each one is the app's effect, so that a test
 * can fork, interrupt or time it with TestClock alone. `cookie` is a `name=value` pair.
 */
export const inProcess =
  <E, R>(app: HttpApp.Default<E, R>, context: Context.Context<Exclude<R, HttpServerRequest.HttpServerRequest>>) =>
  (method: "GET" | "POST", path: string, cookie?: string) =>
    Effect.provide(
      Effect.provideService(
        app,
        HttpServerRequest.HttpServerRequest,
        HttpServerRequest.fromWeb(
          new Request(`http://localhost${path}`, { method, headers: cookie === undefined ? {} : { cookie } })
        )
      ),
      context
    )

/** The `name=value` pair of the first cookie a response sets. */
export const cookieOf = (response: HttpServerResponse.HttpServerResponse): string => {
  const cookie = Object.values(response.cookies.cookies)[0]!
  return `${cookie.name}=${cookie.value}`
}

/** A response's body as text. */
export const textOf = (response: HttpServerResponse.HttpServerResponse): Effect.Effect<string> =>
  Effect.promise(() => HttpServerResponse.toWeb(response).text())
