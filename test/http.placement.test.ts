/**
 * Issue #14's design traps, each over a real server: the middleware works wherever it is put (the
 * router, or `HttpServer.serve(app, HttpSession.middleware)`), the handler reaches its session
 * without a per-request service (`yield* Session.Session` included), an HttpApi group that declares
 * only `ApiSession` can use `Session.failIfExpired`, and a lock that is not free in time answers
 * "busy" (503, `Retry-After: 1`), not "store unavailable".
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiError,
  HttpApiGroup,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Schema, TestClock } from "effect"
import { HttpSession, Session, SessionError, SessionManager, SessionStore } from "effect-session"
import { inspect } from "node:util"
import {
  client,
  cookieOf,
  Count,
  increment,
  inProcess,
  secret,
  serveLayer,
  sessionLayer,
  textOf
} from "./utils/http.js"

const routes = HttpRouter.empty.pipe(
  HttpRouter.post("/counter", increment),
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok"))),
  HttpRouter.get(
    "/handle",
    Effect.gen(function*() {
      // the request's unit, as a handle: it reads and writes like the combinators
      const session = yield* Session.Session
      yield* session.set("seen", true)
      return HttpServerResponse.text(String(Option.getOrElse(yield* session.get(Count), () => 0)))
    })
  )
)

describe("the middleware works wherever it is put", () => {
  it.scoped("HttpServer.serve(app, HttpSession.middleware): it commits and sets its cookie", () =>
    Effect.gen(function*() {
      const base = yield* serveLayer(
        HttpServer.serve(routes, HttpSession.middleware).pipe(Layer.provide(sessionLayer(SessionStore.layerMemory())))
      )
      const http = client(base)
      const first = yield* http.post("/counter")
      expect(first.body).toBe("1")
      expect(first.setCookies).toHaveLength(1)
      expect((yield* http.post("/counter")).body).toBe("2")
      expect((yield* http.post("/counter")).body).toBe("3")
      // a route that never touches the session: no cookie
      const health = client(base)
      expect((yield* health.get("/health")).setCookies).toHaveLength(0)
      // the handle of the request's unit
      expect((yield* http.get("/handle")).body).toBe("3")
    }))

  it.scoped("on the router: the same", () =>
    Effect.gen(function*() {
      const base = yield* serveLayer(
        HttpServer.serve(HttpSession.middleware(routes)).pipe(Layer.provide(sessionLayer(SessionStore.layerMemory())))
      )
      const http = client(base)
      expect((yield* http.post("/counter")).body).toBe("1")
      expect((yield* http.post("/counter")).body).toBe("2")
      expect((yield* http.get("/handle")).body).toBe("2")
    }))
})

describe("one service in the context: the configuration", () => {
  // the platform and the router copy the fiber's context on every request, at a cost per entry: the
  // handler's Session and SessionManager are their tags' defaults, found through the request
  it.scoped("the HTTP layer's context holds HttpSession alone", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpSession.layer({ secrets: [secret] }).pipe(
          Layer.provide(SessionStore.layerMemory())
        )
      )
      expect([...context.unsafeMap.keys()]).toEqual([HttpSession.HttpSession.key])
      expect(Context.getOption(context, HttpSession.HttpSession)._tag).toBe("Some")
    }))

  it.scoped("a handler's SessionManager is the request's, and its store reaches the layer's through the request", () =>
    Effect.gen(function*() {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/login",
          Effect.gen(function*() {
            yield* Session.set("user", "ada")
            yield* Session.bindUser("ada")
            return HttpServerResponse.text("in")
          })
        ),
        HttpRouter.post(
          "/everywhere",
          Effect.gen(function*() {
            const manager = yield* SessionManager.SessionManager
            // "log out everywhere": the store of the request's session
            const removed = yield* manager.store.deleteByUser("ada")
            return HttpServerResponse.text(`${manager.store.name} ${removed}`)
          })
        ),
        HttpRouter.post("/counter", increment),
        HttpSession.middleware
      )
      const request = inProcess(app, yield* Layer.build(sessionLayer(SessionStore.layerMemory())))
      const laptop = cookieOf(yield* request("POST", "/login"))
      const phone = cookieOf(yield* request("POST", "/login"))
      expect(yield* textOf(yield* request("POST", "/counter", laptop))).toBe("1")
      expect(yield* textOf(yield* request("POST", "/counter", phone))).toBe("1")
      expect(yield* textOf(yield* request("POST", "/everywhere"))).toBe("request 2")
      // both sessions are gone: each counts again from nothing (2 had they been kept)
      expect(yield* textOf(yield* request("POST", "/counter", laptop))).toBe("1")
      expect(yield* textOf(yield* request("POST", "/counter", phone))).toBe("1")
    }))

  it.scoped("what the middleware binds to a request shows neither the id nor the data when inspected", () =>
    Effect.gen(function*() {
      // each request's source, a Node IncomingMessage: the request's session is bound to it
      const sources: Array<unknown> = []
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/note",
          Effect.gen(function*() {
            sources.push((yield* HttpServerRequest.HttpServerRequest).source)
            yield* Session.set("note", "a private note")
            return HttpServerResponse.text("ok")
          })
        ),
        HttpSession.middleware
      )
      const base = yield* serveLayer(
        HttpServer.serve(app).pipe(Layer.provide(sessionLayer(SessionStore.layerMemory())))
      )
      // the first request goes the eager way, later ones the lazy way: both are checked
      for (let i = 0; i < 3; i++) {
        const response = yield* client(base).post("/note")
        const token = response.setCookies[0]!.split(";")[0]!.split("=")[1]!
        const shown = inspect(sources[i], { depth: 20, showHidden: true })
        expect(shown).toContain("effect-session/RequestSession")
        expect(shown).not.toContain("a private note")
        expect(shown).not.toContain(token.split(".")[0])
      }
    }))

  it.scoped("a middleware inside another: the inner one runs the handler's unit, the outer one ends none", () =>
    Effect.gen(function*() {
      // from the second request on, each middleware binds its opener to the request in turn (the
      // lazy path): the handler's touch opens the inner one's session
      const inner = HttpRouter.empty.pipe(HttpRouter.post("/counter", increment), HttpSession.middleware)
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok"))),
        HttpRouter.mountApp("/in", inner),
        HttpSession.middleware
      )
      const request = inProcess(app, yield* Layer.build(sessionLayer(SessionStore.layerMemory())))
      const first = yield* request("POST", "/in/counter")
      expect(yield* textOf(first)).toBe("1")
      const cookie = cookieOf(first)
      for (let n = 2; n <= 4; n++) {
        const response = yield* request("POST", "/in/counter", cookie)
        expect(yield* textOf(response)).toBe(String(n))
        // one Set-Cookie at most: the outer middleware's untouched unit writes nothing
        expect(Object.keys(response.cookies.cookies).length).toBeLessThanOrEqual(1)
      }
      expect((yield* request("GET", "/health", cookie)).cookies.cookies).toEqual({})
    }))

  it.effect("outside any unit and any request, the session is a defect that says what to provide", () =>
    Effect.gen(function*() {
      // what a handler would meet if the types were bypassed: no middleware, no transaction
      const exit = yield* Effect.exit(Session.get(Count) as Effect.Effect<unknown, unknown>)
      expect(Exit.isFailure(exit)).toBe(true)
      const message = Exit.isFailure(exit) ? String(exit.cause) : ""
      expect(message).toContain("no session here")
      expect(message).toContain("HttpSession.middleware")
      expect(message).not.toContain("Service not found")
    }))
})

describe("a write after the request's unit ended", () => {
  // a fiber the handler leaves running writes to the session after the response: refused with a
  // typed error, as any write after its unit closed, whether or not the handler touched the session
  it.scoped("is refused (SessionStateError), on the first request and later ones, touched or not", () =>
    Effect.gen(function*() {
      const results: Array<Deferred.Deferred<Exit.Exit<void, unknown>>> = []
      const gates: Array<Deferred.Deferred<void>> = []
      const late = (touch: boolean) =>
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          const result = yield* Deferred.make<Exit.Exit<void, unknown>>()
          gates.push(gate)
          results.push(result)
          if (touch) yield* Session.get(Count)
          yield* Effect.forkDaemon(
            Effect.zipRight(
              Deferred.await(gate),
              Effect.flatMap(Effect.exit(Session.set(Count, 99)), (exit) => Deferred.succeed(result, exit))
            )
          )
          return HttpServerResponse.text("ok")
        })
      const app = HttpRouter.empty.pipe(
        HttpRouter.post("/counter", increment),
        HttpRouter.post("/untouched", late(false)),
        HttpRouter.post("/touched", late(true)),
        HttpSession.middleware
      )
      const request = inProcess(app, yield* Layer.build(sessionLayer(SessionStore.layerMemory())))
      const cookie = cookieOf(yield* request("POST", "/counter"))
      for (const path of ["/untouched", "/touched", "/untouched", "/touched"] as const) {
        expect((yield* request("POST", path, cookie)).status).toBe(200)
        const i = results.length - 1
        yield* Deferred.succeed(gates[i]!, undefined)
        const exit = yield* Deferred.await(results[i]!)
        expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(
          Option.some(new SessionError.SessionStateError({ reason: "WriteNotAllowed" }))
        )
      }
      // nothing of the late writes reached the store
      expect(yield* textOf(yield* request("POST", "/counter", cookie))).toBe("2")
    }))
})

describe("HttpApi: ApiSession alone", () => {
  const Api = HttpApi.make("api").add(
    HttpApiGroup.make("me")
      .add(HttpApiEndpoint.post("login", "/login").addSuccess(Schema.String))
      .add(HttpApiEndpoint.get("me", "/me").addSuccess(Schema.String))
      .addError(HttpApiError.Unauthorized)
      .addError(HttpSession.SessionUnavailable)
      .middleware(HttpSession.ApiSession)
  )
  const ApiLive = HttpApiBuilder.api(Api).pipe(
    Layer.provide(HttpApiBuilder.group(Api, "me", (handlers) =>
      handlers
        .handle("login", () => Effect.as(Session.set("user", "ada"), "welcome").pipe(HttpSession.orUnavailable))
        .handle("me", () =>
          Effect.gen(function*() {
            // the group declares ApiSession only: failIfExpired needs nothing else
            yield* Session.failIfExpired
            const user = yield* Session.get("user")
            return Option.isSome(user) ? String(user.value) : "nobody"
          }).pipe(
            Effect.catchTag("SessionTimeout", () => new HttpApiError.Unauthorized()),
            HttpSession.orUnavailable
          )))),
    Layer.provide(HttpSession.layerApi)
  )

  it.scoped("Session.failIfExpired in a group declaring only ApiSession: expiry answers 401", () =>
    Effect.gen(function*() {
      const base = yield* serveLayer(
        HttpApiBuilder.serve().pipe(
          Layer.provide(ApiLive),
          Layer.provide(sessionLayer(SessionStore.layerMemory(), { idleTimeout: "30 minutes" }))
        )
      )
      const http = client(base)
      expect((yield* http.post("/login")).status).toBe(200)
      const me = yield* http.get("/me")
      expect(me.status).toBe(200)
      expect(me.body).toBe("\"ada\"")
      yield* TestClock.adjust("31 minutes")
      expect((yield* http.get("/me")).status).toBe(401)
    }))
})

describe("a lock that is not free in time", () => {
  it.scoped("answers 503 with Retry-After: 1 and says the session is busy, not that the store is down", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post("/counter", increment),
        HttpRouter.post(
          "/slow",
          Effect.gen(function*() {
            yield* Session.set("slow", true)
            yield* Deferred.succeed(entered, undefined)
            yield* Effect.sleep("5 minutes")
            return HttpServerResponse.text("slow")
          })
        ),
        HttpSession.middleware
      )
      const request = inProcess(
        app,
        yield* Layer.build(sessionLayer(SessionStore.layerMemory(), { lockTimeout: "1 second" }))
      )
      const cookie = cookieOf(yield* request("POST", "/counter"))
      const slow = yield* Effect.fork(request("POST", "/slow", cookie))
      yield* Deferred.await(entered)
      const waiting = yield* Effect.fork(request("POST", "/counter", cookie))
      // the second request waits for the lock: move past its timeout
      while (Option.isNone(yield* Fiber.poll(waiting))) yield* TestClock.adjust("2 seconds")
      const busy = yield* Fiber.join(waiting)
      expect(busy.status).toBe(503)
      expect(busy.headers["retry-after"]).toBe("1")
      expect(yield* textOf(busy)).toContain("busy")
      yield* TestClock.adjust("5 minutes")
      expect(yield* textOf(yield* Fiber.join(slow))).toBe("slow")
    }))
})

describe("where interruption is on (the middleware inside a route)", () => {
  // HttpRouter.use puts the middleware inside the route, which the router runs interruptibly: the
  // end of the unit is then masked by the middleware itself
  it.scoped("a handler interrupted after its write leaves the session as it was, and its lock free", () =>
    Effect.gen(function*() {
      const wrote = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post("/counter", increment),
        HttpRouter.post(
          "/stuck",
          Effect.zipRight(Session.set(Count, 100), Effect.zipRight(Deferred.succeed(wrote, undefined), Effect.never))
        ),
        HttpRouter.use((handler) => HttpSession.middleware(handler))
      )
      const request = inProcess(app, yield* Layer.build(sessionLayer(SessionStore.layerMemory())))
      const cookie = cookieOf(yield* request("POST", "/counter"))
      const stuck = yield* Effect.fork(request("POST", "/stuck", cookie))
      yield* Deferred.await(wrote)
      yield* Fiber.interrupt(stuck)
      // the interrupted unit was discarded and released the session's lock: the next write runs
      // (were the lock still held, this request would wait for it until its lock timeout: a 503)
      const waiting = yield* Effect.fork(request("POST", "/counter", cookie))
      yield* TestClock.adjust("1 minute")
      const next = yield* Fiber.join(waiting)
      expect(next.status).toBe(200)
      expect(yield* textOf(next)).toBe("2")
    }))
})
