import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  HttpLayerRouter,
  HttpRouter,
  HttpServerResponse
} from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionError, SessionStore } from "effect-session"
import * as Example from "../examples/app.js"
import { client, serve, serveLayer, sessionLayer } from "./utils/http.js"
import { countingStore, failingSaves, memoryStoreWith } from "./utils/stores.js"

// ---------------------------------------------------------------------------------------------
// the seed's two apps, in each middleware flavour
// ---------------------------------------------------------------------------------------------

class HistoryFailed
  extends Schema.TaggedError<HistoryFailed>()("HistoryFailed", {}, HttpApiSchema.annotations({ status: 500 }))
{}

const Api = HttpApi.make("seed").add(
  HttpApiGroup.make("seed")
    .add(
      HttpApiEndpoint.get("history", "/history/:name")
        .setPath(Schema.Struct({ name: Schema.String }))
        .addSuccess(Schema.String)
        .addError(HistoryFailed)
        .addError(HttpSession.SessionUnavailable)
    )
    .add(HttpApiEndpoint.get("transactional", "/transactional").addSuccess(Schema.String))
    .middleware(HttpSession.ApiSession)
    .middleware(HttpSession.ApiSessionManager)
)

const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide(HttpApiBuilder.group(Api, "seed", (handlers) =>
    handlers
      .handle("history", ({ path }) =>
        Example.history(path.name).pipe(
          Effect.catchTag("Failed", () => new HistoryFailed()),
          HttpSession.orUnavailable
        ))
      .handle("transactional", () => HttpSession.manual(Effect.orDie(Example.transactional))))),
  Layer.provide(HttpSession.layerApi)
)

const flavours = {
  HttpRouter: (store: Layer.Layer<SessionStore.SessionStore>) => serve(Example.app, sessionLayer(store)),
  HttpLayerRouter: (store: Layer.Layer<SessionStore.SessionStore>) =>
    serveLayer(
      HttpLayerRouter.serve(
        Layer.mergeAll(
          HttpLayerRouter.add(
            "GET",
            "/history/:name",
            Effect.gen(function*() {
              const { name } = yield* HttpLayerRouter.schemaPathParams(Schema.Struct({ name: Schema.String }))
              return HttpServerResponse.text(yield* Example.history(name))
            })
          ),
          HttpLayerRouter.add(
            "GET",
            "/transactional",
            HttpSession.manual(Effect.map(Example.transactional, (body) => HttpServerResponse.text(body)))
          )
        ).pipe(Layer.provide(HttpSession.layerRouter)),
        { disableLogger: true, disableListenLog: true }
      ).pipe(Layer.provide(sessionLayer(store)))
    ),
  HttpApi: (store: Layer.Layer<SessionStore.SessionStore>) =>
    serveLayer(
      HttpApiBuilder.serve().pipe(Layer.provide(ApiLive), Layer.provide(sessionLayer(store)))
    )
} as const

/** A memory store that can be switched off: then its loads and saves fail, as a backend that is down. */
const switchableStore = () => {
  const state = { down: false }
  const fail = (operation: SessionError.SessionStoreOperation) =>
    Effect.fail(new SessionError.SessionStoreError({ store: "switchable", operation }))
  const layer = memoryStoreWith((store) => ({
    load: (id) => state.down ? fail("load") : store.load(id),
    save: (id, record, v) => state.down ? fail("save") : store.save(id, record, v)
  }))
  return { state, layer }
}

for (const [flavour, start] of Object.entries(flavours)) {
  describe(`${flavour}: a store that goes down`, () => {
    it.scopedLive("a handler that uses the session answers 503, and works again when the store is back", () =>
      Effect.gen(function*() {
        const { layer, state } = switchableStore()
        const http = client(yield* start(layer))
        expect((yield* http.get("/history/foo")).status).toBe(200)
        state.down = true
        expect((yield* http.get("/history/bar")).status).toBe(503)
        state.down = false
        expect((yield* http.get("/history/baz")).body.replace(/"/g, "")).toBe("/foo, /baz")
      }))
  })

  describe(`${flavour}: the seed's apps over HTTP`, () => {
    it.scopedLive("history: commit on success, discard on failure", () =>
      Effect.gen(function*() {
        const http = client(yield* start(SessionStore.layerMemory()))
        expect((yield* http.get("/history/foo")).body.replace(/"/g, "")).toBe("/foo")
        expect((yield* http.get("/history/bar")).body.replace(/"/g, "")).toBe("/foo, /bar")
        expect((yield* http.get("/history/fail")).status).toBe(500)
        expect((yield* http.get("/history/baz")).body.replace(/"/g, "")).toBe("/foo, /bar, /baz")
      }))

    it.scopedLive("transactional: three units in one request answer CromLech", () =>
      Effect.gen(function*() {
        const http = client(yield* start(SessionStore.layerMemory()))
        const reply = yield* http.get("/transactional")
        expect(reply.status).toBe(200)
        expect(reply.body.replace(/"/g, "")).toBe("CromLech")
        expect(reply.setCookies.length).toBe(1)
      }))
  })
}

// ---------------------------------------------------------------------------------------------
// behaviour of the middleware
// ---------------------------------------------------------------------------------------------

const Note = Session.key("note", Schema.String)
const Redacted32 = Redacted.make("a secret of at least thirty-two bytes, for tests")
const OldSecret = Redacted.make("the old secret, thirty-two bytes or more long")
const NewSecret = Redacted.make("the new secret, thirty-two bytes or more long")

const noteApp = HttpRouter.empty.pipe(
  HttpRouter.get("/note", Effect.map(Session.getOrElse(Note, () => ""), (n) => HttpServerResponse.text(n))),
  HttpRouter.post("/note", Effect.as(Session.set(Note, "written"), HttpServerResponse.text("ok"))),
  HttpRouter.post("/note-again", Effect.as(Session.set(Note, "written again"), HttpServerResponse.text("ok"))),
  HttpRouter.post(
    "/note-400",
    Effect.as(Session.set(Note, "rejected"), HttpServerResponse.text("no", { status: 400 }))
  ),
  HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
  HttpSession.middleware
)

describe("HttpSession middleware", () => {
  it.scopedLive("a request that never touches the session costs no store call and sets no cookie", () =>
    Effect.gen(function*() {
      const { calls, layer } = countingStore()
      const http = client(yield* serve(noteApp, sessionLayer(layer)))
      const reply = yield* http.get("/untouched")
      expect(reply.setCookies).toEqual([])
      // a read of a new session: nothing stored, so no cookie either
      expect((yield* http.get("/note")).setCookies).toEqual([])
      expect(calls).toEqual({ load: 0, save: 0, delete: 0, deleteByUser: 0, purge: 0 })
    }))

  it.scopedLive("the cookie is signed, HttpOnly, SameSite=Lax, Path=/ and Secure by default", () =>
    Effect.gen(function*() {
      const http = client(
        yield* serve(
          noteApp,
          HttpSession.layer({ secrets: [Redacted32] }).pipe(Layer.provideMerge(SessionStore.layerMemory()))
        )
      )
      const reply = yield* http.post("/note")
      expect(reply.setCookies.length).toBe(1)
      const cookie = reply.setCookies[0]!
      expect(cookie).toMatch(/^session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/)
      expect(cookie).toContain("HttpOnly")
      expect(cookie).toContain("SameSite=Lax")
      expect(cookie).toContain("Path=/")
      expect(cookie).toContain("Secure")
      expect(cookie).not.toContain("Max-Age") // a browser-session cookie by default
      // the same session on the next request: no new cookie
      const again = yield* http.get("/note")
      expect(again.body).toBe("written")
      expect(again.setCookies).toEqual([])
    }))

  it.scopedLive("cookie options: persistent Max-Age, Domain, Partitioned, Priority, name", () =>
    Effect.gen(function*() {
      const http = client(
        yield* serve(
          noteApp,
          HttpSession.layer({
            secrets: [Redacted32],
            idleTimeout: "10 minutes",
            cookie: { name: "sid", persistent: true, domain: "example.test", partitioned: true, priority: "high" }
          }).pipe(Layer.provideMerge(SessionStore.layerMemory()))
        )
      )
      const cookie = (yield* http.post("/note")).setCookies[0]!
      expect(cookie).toMatch(/^sid=/)
      expect(cookie).toContain("Max-Age=600")
      expect(cookie).toContain("Domain=example.test")
      expect(cookie).toContain("Partitioned")
      expect(cookie).toContain("Priority=High")
    }))

  it.scopedLive("a persistent cookie is sent again with a fresh Max-Age when a request saves, not when it reads", () =>
    Effect.gen(function*() {
      const http = client(
        yield* serve(
          noteApp,
          HttpSession.layer({ secrets: [Redacted32], idleTimeout: "10 minutes", cookie: { persistent: true } }).pipe(
            Layer.provideMerge(SessionStore.layerMemory())
          )
        )
      )
      expect((yield* http.post("/note")).setCookies).toHaveLength(1)
      const saved = (yield* http.post("/note-again")).setCookies
      expect(saved).toHaveLength(1)
      expect(saved[0]).toContain("Max-Age=600")
      expect((yield* http.get("/note")).setCookies).toEqual([])
    }))

  it.scopedLive("a forged, garbled or oversized cookie gives a fresh session without asking the store", () =>
    Effect.gen(function*() {
      const { calls, layer } = countingStore()
      const base = yield* serve(noteApp, sessionLayer(layer))
      const http = client(base)
      yield* http.post("/note")
      const good = http.jar.get("session")!
      const loadsBefore = calls.load
      const forged = [
        `${good.slice(0, 43)}.${"A".repeat(43)}`, // right id, wrong signature
        `${"B".repeat(43)}.${good.slice(44)}`, // other id, the signature of ours
        good.slice(0, 60), // truncated
        `${good}x`,
        "x".repeat(8_000), // oversized
        "%00%ff;;==",
        ""
      ]
      for (const value of forged) {
        const reply = yield* client(base).get("/note", { headers: { cookie: `session=${value}` } })
        expect(reply.status).toBe(200)
        expect(reply.body).toBe("")
      }
      // 100 kB: Node refuses the headers itself (431), before any of our code runs; never a 500
      const huge = yield* client(base).get("/note", { headers: { cookie: `session=${"x".repeat(100_000)}` } })
      expect(huge.status).toBe(431)
      expect(calls.load).toBe(loadsBefore)
      expect((yield* http.get("/note")).body).toBe("written")
    }))

  it.scopedLive("key rotation: a cookie signed with the old secret still verifies; new cookies use the new one", () =>
    Effect.gen(function*() {
      const store = SessionStore.layerMemory()
      const storeCtx = yield* Layer.build(store)
      const shared = Layer.succeedContext(storeCtx)
      const before = yield* serve(noteApp, sessionLayer(shared, { secrets: [OldSecret] }))
      const after = yield* serve(noteApp, sessionLayer(shared, { secrets: [NewSecret, OldSecret] }))
      const only = yield* serve(noteApp, sessionLayer(shared, { secrets: [NewSecret] }))
      const http = client(before)
      yield* http.post("/note")
      const oldCookie = http.jar.get("session")!
      const rotated = yield* client(after).get("/note", { headers: { cookie: `session=${oldCookie}` } })
      expect(rotated.body).toBe("written")
      const dropped = yield* client(only).get("/note", { headers: { cookie: `session=${oldCookie}` } })
      expect(dropped.body).toBe("")
      const fresh = client(after)
      yield* fresh.post("/note")
      const newCookie = fresh.jar.get("session")!
      expect((yield* client(only).get("/note", { headers: { cookie: `session=${newCookie}` } })).body).toBe("written")
    }))

  it.scopedLive("a 4xx response discards the handler's changes (commitOn), a 2xx commits", () =>
    Effect.gen(function*() {
      const http = client(yield* serve(noteApp, sessionLayer(SessionStore.layerMemory())))
      expect((yield* http.post("/note-400")).status).toBe(400)
      expect((yield* http.get("/note")).body).toBe("")
      yield* http.post("/note")
      expect((yield* http.post("/note-400")).status).toBe(400)
      expect((yield* http.get("/note")).body).toBe("written")
    }))

  it.scopedLive("a failed commit answers 503 (store) or 409 (conflict), never 200", () =>
    Effect.gen(function*() {
      const failing = failingSaves(new SessionError.SessionStoreError({ store: "down", operation: "save" }))
      const down = client(yield* serve(noteApp, sessionLayer(failing)))
      const reply = yield* down.post("/note")
      expect(reply.status).toBe(503)
      expect(reply.setCookies).toEqual([])
      const conflicting = failingSaves(new SessionError.SessionConflict({ store: "memory", expectedVersion: 0 }))
      const busy = client(yield* serve(noteApp, sessionLayer(conflicting)))
      expect((yield* busy.post("/note")).status).toBe(409)
    }))

  it.scopedLive("a client that disconnects mid-handler has the handler's changes discarded", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/note", Effect.map(Session.getOrElse(Note, () => ""), (n) => HttpServerResponse.text(n))),
        HttpRouter.post("/note", Effect.as(Session.set(Note, "written"), HttpServerResponse.text("ok"))),
        HttpRouter.post(
          "/slow",
          Effect.gen(function*() {
            yield* Session.set(Note, "from the slow request")
            yield* Deferred.succeed(entered, undefined)
            yield* Effect.sleep("10 seconds")
            return HttpServerResponse.text("done")
          })
        ),
        HttpSession.middleware
      )
      const base = yield* serve(app, sessionLayer(SessionStore.layerMemory()))
      const http = client(base)
      yield* http.post("/note")
      const cookie = `session=${http.jar.get("session")!}`
      const controller = new AbortController()
      const pending = fetch(`${base}/slow`, { method: "POST", headers: { cookie }, signal: controller.signal }).catch(
        (e: unknown) => e
      )
      yield* Deferred.await(entered)
      controller.abort()
      yield* Effect.promise(() => pending)
      // no wait needed: this read queues on the session's lock until the interrupted unit has ended
      expect((yield* http.get("/note")).body).toBe("written")
    }))

  it.scopedLive("login regenerates the id and keeps the data; logout destroys the session and expires the cookie", () =>
    Effect.gen(function*() {
      const { calls, layer } = countingStore()
      const base = yield* serve(Example.app, sessionLayer(layer))
      const http = client(base)
      yield* http.post("/counter")
      yield* http.post("/counter")
      const before = http.jar.get("session")!
      const login = yield* http.post("/login", { body: new URLSearchParams({ user: "alice" }) })
      expect(login.status).toBe(303)
      const after = http.jar.get("session")!
      expect(after).not.toBe(before)
      expect((yield* http.get("/counter")).body).toBe("2")
      // the old id is gone from the store
      const stale = yield* client(base).get("/counter", { headers: { cookie: `session=${before}` } })
      expect(stale.body).toBe("0")
      const deletes = calls.delete
      const logout = yield* http.post("/logout")
      expect(logout.status).toBe(303)
      expect(logout.setCookies.length).toBe(1)
      expect(logout.setCookies[0]).toMatch(/^session=; Max-Age=0/)
      expect(calls.delete).toBe(deletes + 1)
      expect(http.jar.has("session")).toBe(false)
      expect((yield* http.get("/counter")).body).toBe("0")
    }))
})
