/**
 * Runs the guide's snippets and checks that they do what the guide says they do.
 */
import { Cookies, HttpClient, HttpClientRequest, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Ref, Schema, TestClock } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import * as Expiry from "./expiry.js"
import * as Savepoints from "./savepoints.js"
import * as StoresCookie from "./stores-cookie.js"
import * as UnitOfWork from "./unit-of-work.js"

const SessionTest = HttpSession.layer({ secrets: [Redacted.make("x".repeat(32))], cookie: { secure: false } }).pipe(
  Layer.provide(SessionStore.layerMemory())
)

/** The test server's client, keeping cookies and not following redirects. */
const browserLike = Effect.gen(function*() {
  const jar = yield* Ref.make(Cookies.empty)
  return (yield* HttpClient.HttpClient).pipe(HttpClient.withCookiesRef(jar))
})

describe("docs/unit-of-work.md", () => {
  it.effect("transaction, discard, layer, nested, abort", () =>
    Effect.gen(function*() {
      expect(yield* UnitOfWork.workflow).toEqual(Option.some(2))
      const { error, reserved } = yield* UnitOfWork.discarded
      expect(error._tag).toBe("OutOfStock")
      expect(reserved).toEqual(Option.none())
      yield* UnitOfWork.asLayer
      expect([...(yield* UnitOfWork.nested)].sort()).toEqual(["a", "c"])
      expect(yield* UnitOfWork.aborted).toBe("Session's current state disallows writing")
    }))

  it.scoped("the HTTP handlers: one unit per request, or several with HttpSession.manual", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(UnitOfWork.app)
      const client = yield* browserLike
      expect(yield* (yield* client.execute(HttpClientRequest.post("/cart/apple"))).text).toBe("added")
      expect(yield* (yield* client.execute(HttpClientRequest.post("/checkout"))).text).toBe("ordered")
      expect(yield* (yield* client.execute(HttpClientRequest.post("/checkout"))).text).toBe("empty cart")
    }).pipe(
      Effect.provide(NodeHttpServer.layerTest),
      Effect.provide(SessionTest)
    ))
})

describe("docs/savepoints.md", () => {
  it.effect("the form keeps the good steps, the rules hold, a failed nested transaction rolls back", () =>
    Effect.gen(function*() {
      const { problems, saved } = yield* Savepoints.formDemo
      expect(problems).toEqual(["email"])
      expect(saved).toEqual([Option.some("Ada"), Option.none(), Option.some("pro")])
      expect(yield* Savepoints.rules).toEqual({ step: Option.some(1), reason: "InvalidSavepoint" })
      expect(yield* Savepoints.nestedDemo).toEqual(["y"])
    }))
})

describe("docs/expiry.md", () => {
  const Cart = Session.key("cart", Schema.Array(Schema.String))
  it.effect("restoreCart carries the expired cart over into the fresh session", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Cart, ["apple"])).pipe(Effect.provide(Session.open("c")))
      yield* TestClock.adjust("31 minutes")
      const restored = yield* Effect.gen(function*() {
        yield* Session.transaction(Expiry.restoreCart)
        return yield* Session.transaction(Session.get(Cart))
      }).pipe(Effect.provide(Session.open("c")))
      expect(restored).toEqual(Option.some(["apple"]))
    }).pipe(Effect.provide(SessionStore.layerMemory())))

  it.scoped("an expired session is redirected to the login page", () =>
    Effect.gen(function*() {
      const User = Session.key("user", Schema.String)
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/account", Expiry.account),
        HttpRouter.post("/login", Effect.as(Session.set(User, "ada"), HttpServerResponse.text("ok"))),
        HttpSession.middleware
      )
      yield* HttpServer.serveEffect(app)
      const client = yield* browserLike
      yield* client.execute(HttpClientRequest.post("/login"))
      expect(yield* (yield* client.execute(HttpClientRequest.get("/account"))).text).toBe("Hello ada")
      yield* TestClock.adjust("31 minutes")
      const expired = yield* client.execute(HttpClientRequest.get("/account"))
      expect(expired.status).toBe(303)
      expect(expired.headers.location).toBe("/login?expired=Idle")
    }).pipe(Effect.provide(NodeHttpServer.layerTest), Effect.provide(SessionTest)))
})

describe("docs/stores.md", () => {
  it("the sealed cookie's seal: a record seals and opens for the same context, and is too large past the limit", () => {
    const record = { data: { theme: "dark" }, version: 1, createdAt: 0, expiresAt: 60_000 }
    expect(StoresCookie.roundTrip(record, 1_000)).toBe(true)
    expect(StoresCookie.roundTrip({ ...record, data: { blob: "x".repeat(10_000) } }, 1_000)).toBe(false)
  })
})
