/**
 * Store round trips per request through the HTTP middleware (issue 6): a request that never
 * touches the session costs no store call, a read costs one load, a read and a write one load and
 * one save at most. Counted with a wrapper around the memory store over a real server and client;
 * not timed.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { client, serve, sessionLayer } from "./utils/http.js"
import { countingStore } from "./utils/stores.js"

const Count = Session.key("count", Schema.Number)
const Other = Session.key("other", Schema.String)

const none = { load: 0, save: 0, delete: 0, deleteByUser: 0, purge: 0 }

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
  HttpRouter.get("/read", Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(String(n)))),
  HttpRouter.get(
    "/read-twice",
    Effect.gen(function*() {
      const n = yield* Session.getOrElse(Count, () => 0)
      const other = yield* Session.get(Other)
      return HttpServerResponse.text(`${n} ${Option.getOrElse(other, () => "-")}`)
    })
  ),
  HttpRouter.post(
    "/counter",
    Effect.map(
      Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1),
      (n) => HttpServerResponse.text(String(n))
    )
  ),
  HttpRouter.post(
    "/two-writes",
    Effect.gen(function*() {
      const n = yield* Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)
      yield* Session.set(Other, `seen ${n}`)
      return HttpServerResponse.text(String(n))
    })
  ),
  HttpSession.middleware
)

describe("store round trips per request", () => {
  it.scopedLive("a new client: untouched and read cost nothing, the first write one save", () =>
    Effect.gen(function*() {
      const store = countingStore()
      const http = client(yield* serve(app, sessionLayer(store.layer)))

      expect((yield* http.get("/untouched")).status).toBe(200)
      expect(store.calls).toEqual(none)

      // no cookie: the session is new, nothing to load
      expect((yield* http.get("/read")).body).toBe("0")
      expect(store.calls).toEqual(none)

      const first = yield* http.post("/counter")
      expect(first.body).toBe("1")
      expect(first.setCookies.length).toBe(1)
      expect(store.calls).toEqual({ ...none, save: 1 })
    }))

  it.scopedLive("with a session: untouched 0, read-only 1 (a load), read-write 2 (load + save)", () =>
    Effect.gen(function*() {
      const store = countingStore()
      const http = client(yield* serve(app, sessionLayer(store.layer)))
      expect((yield* http.post("/counter")).body).toBe("1")
      expect(http.jar.size).toBe(1)

      store.reset()
      const untouched = yield* http.get("/untouched")
      expect(untouched.setCookies).toEqual([])
      expect(store.calls).toEqual(none)

      store.reset()
      const read = yield* http.get("/read")
      expect(read.body).toBe("1")
      expect(read.setCookies).toEqual([])
      expect(store.calls).toEqual({ ...none, load: 1 })

      store.reset()
      const readTwice = yield* http.get("/read-twice")
      expect(readTwice.body).toBe("1 -")
      expect(store.calls).toEqual({ ...none, load: 1 })

      store.reset()
      const written = yield* http.post("/counter")
      expect(written.body).toBe("2")
      expect(written.setCookies).toEqual([]) // same id, browser-session cookie: nothing to resend
      expect(store.calls).toEqual({ ...none, load: 1, save: 1 })

      store.reset()
      const twoWrites = yield* http.post("/two-writes")
      expect(twoWrites.body).toBe("3")
      expect(store.calls).toEqual({ ...none, load: 1, save: 1 })
    }))

  it.scopedLive("many requests of one session: never more than one load and one save each", () =>
    Effect.gen(function*() {
      const store = countingStore()
      const http = client(yield* serve(app, sessionLayer(store.layer)))
      yield* http.post("/counter")
      store.reset()
      const rounds = 20
      for (let i = 0; i < rounds; i++) {
        yield* http.get("/untouched")
        yield* http.get("/read")
        yield* http.post("/counter")
      }
      expect((yield* http.get("/read")).body).toBe(String(rounds + 1))
      // per round: untouched 0 + read 1 + read-write 2; and the last read
      expect(store.calls).toEqual({ ...none, load: 2 * rounds + 1, save: rounds })
    }))
})

describe("store round trips of a workflow (Session.open)", () => {
  const increment = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1).pipe(Session.transaction)

  it.scoped("units in a row load once; a unit after another manager's commit loads again", () =>
    Effect.gen(function*() {
      const store = countingStore()
      const storeService = yield* Effect.provide(SessionStore.SessionStore, store.layer)
      const open = (id: string) =>
        Session.open(id).pipe(Layer.provide(Layer.succeed(SessionStore.SessionStore, storeService)))
      const mine = yield* Layer.build(open("flow"))
      const theirs = yield* Layer.build(open("flow"))

      for (let i = 0; i < 3; i++) yield* Effect.provide(increment, mine)
      // the first unit found nothing to load; the next two knew nobody held the session since
      expect(store.calls).toEqual({ ...none, load: 1, save: 3 })

      store.reset()
      expect(yield* Effect.provide(increment, theirs)).toBe(4) // another manager: it loads
      expect(yield* Effect.provide(increment, mine)).toBe(5) // and so must we now
      expect(store.calls).toEqual({ ...none, load: 2, save: 2 })
    }))
})
