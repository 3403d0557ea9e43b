/**
 * Issue #13: readers never wait, writers never lose. Each test failed on the code before the fix.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Ref, Schema } from "effect"
import { HttpSession, Session, SessionManager, SessionStore } from "effect-session"
import { client, Count, increment, serve, sessionLayer } from "./utils/http.js"

const User = Session.key("user", Schema.String)

describe("#13 readers never wait", () => {
  it.scopedLive("6 parallel read-only requests of one session all run their work at the same time", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make(0)
      const allIn = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/login",
          Effect.as(Session.set(User, "ann"), HttpServerResponse.text("ok"))
        ),
        HttpRouter.get(
          "/api",
          Effect.gen(function*() {
            // who is logged in: a read of the session, then "other work" that waits for its siblings
            const user = yield* Session.get(User)
            const n = yield* Ref.updateAndGet(started, (k) => k + 1)
            if (n === 6) yield* Deferred.succeed(allIn, undefined)
            // the work of one request ends only when all six have read the session: with a lock held
            // by each reader until its handler ends, the other five could not read, and this would
            // end by the 8-second deadline below (a deadline for "blocked", not a speed figure: a loaded machine still
            // gets six loopback requests in within it)
            const together = yield* Deferred.await(allIn).pipe(Effect.timeout("8 seconds"), Effect.option)
            return HttpServerResponse.text(`${Option.getOrElse(user, () => "-")} ${Option.isSome(together)}`)
          })
        ),
        HttpSession.middleware
      )
      const http = client(yield* serve(app, sessionLayer(SessionStore.layerMemory(), { lockTimeout: "10 seconds" })))
      expect((yield* http.post("/login")).status).toBe(200)
      const replies = yield* Effect.all(Array.from({ length: 6 }, () => http.get("/api")), { concurrency: "unbounded" })
      expect(replies.map((r) => `${r.status} ${r.body}`)).toEqual(Array.from({ length: 6 }, () => "200 ann true"))
      // a read-only request sends no cookie
      expect(replies.every((r) => r.setCookies.length === 0)).toBe(true)
    }))

  it.effect("Session.readOnly: a workflow's reader runs while a writer of the same session holds its lock", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 1))
      const writing = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const writer = yield* Effect.fork(Session.transaction(Effect.gen(function*() {
        yield* Session.set(Count, 2)
        yield* Deferred.succeed(writing, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(writing)
      // the reader does not wait for the writer's lock, and sees the last durable data
      const read = yield* Session.transaction(Session.get(Count)).pipe(Session.readOnly)
      expect(read).toEqual(Option.some(1))
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(writer)
      expect(yield* Session.transaction(Session.get(Count)).pipe(Session.readOnly)).toEqual(Option.some(2))
    }).pipe(Effect.provide(Session.open("ro").pipe(Layer.provideMerge(SessionStore.layerMemory())))))
})

describe("#13 the lock hand-off", () => {
  it.effect("two managers on one (asynchronous) store, units a0, b1, a1 queued on one session: none conflicts", () =>
    Effect.gen(function*() {
      const memory = yield* SessionStore.SessionStore
      // an asynchronous store (as Redis and SQL are): each call yields before it runs
      const store: SessionStore.SessionStoreService = {
        ...memory,
        load: (id) => Effect.zipRight(Effect.yieldNow(), memory.load(id)),
        save: (id, record, version) => Effect.zipRight(Effect.yieldNow(), memory.save(id, record, version))
      }
      const options = { id: "shared", adoptUnknownId: true, onConflict: "fail" } as const
      const a = SessionManager.unsafeMake(store, options)
      const b = SessionManager.unsafeMake(store, options)
      const bump = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1).pipe(Session.transaction)
      const on = (manager: SessionManager.SessionManagerService) =>
        Effect.provideService(SessionManager.SessionManager, manager)
      const outcomes: Array<string> = []
      for (let round = 0; round < 20; round++) {
        // a0, b1 and a1 start at once and queue on the session's lock in that order
        const fibers = [
          yield* Effect.fork(Effect.either(bump.pipe(on(a)))),
          yield* Effect.fork(Effect.either(bump.pipe(on(b)))),
          yield* Effect.fork(Effect.either(bump.pipe(on(a))))
        ]
        for (const fiber of fibers) {
          const result = yield* Fiber.join(fiber)
          outcomes.push(result._tag === "Left" ? result.left._tag : "ok")
        }
      }
      expect(outcomes.filter((o) => o !== "ok")).toEqual([])
      expect(Option.map(yield* store.load("shared"), (r) => r.data)).toEqual(Option.some({ count: 60 }))
    }).pipe(Effect.provide(SessionStore.layerMemory())))
})

describe("#13 regenerate racing a request of the same session, one process", () => {
  it.scopedLive("the waiting request is a 409 without a cookie: no empty session, no forwarding to the new id", () =>
    Effect.gen(function*() {
      const inLogin = yield* Deferred.make<void>()
      const finishLogin = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/login",
          Effect.gen(function*() {
            yield* Session.set(User, "ann")
            yield* Session.regenerate
            yield* Deferred.succeed(inLogin, undefined)
            yield* Deferred.await(finishLogin)
            return HttpServerResponse.text("logged in")
          })
        ),
        HttpRouter.post("/counter", increment),
        HttpSession.middleware
      )
      const http = client(yield* serve(app, sessionLayer(SessionStore.layerMemory())))
      expect((yield* http.post("/counter")).body).toBe("1")
      const oldCookie = http.jar.get("session")!
      const login = yield* Effect.fork(http.post("/login"))
      yield* Deferred.await(inLogin)
      // a request of the same (old) session, waiting for the login's lock
      const other = yield* Effect.fork(http.post("/counter", { headers: { cookie: `session=${oldCookie}` } }))
      yield* Effect.sleep("100 millis")
      yield* Deferred.succeed(finishLogin, undefined)
      const loggedIn = yield* Fiber.join(login)
      const raced = yield* Fiber.join(other)
      expect(loggedIn.status).toBe(200)
      expect(loggedIn.setCookies.length).toBe(1)
      expect(raced.status).toBe(409)
      expect(raced.setCookies).toEqual([])
      // the client retries with the cookie the login set: the session and the count are there
      expect((yield* http.post("/counter")).body).toBe("2")
    }))
})
