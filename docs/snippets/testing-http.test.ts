/**
 * docs/testing.md, "Over HTTP": a real test file, run by `npm test` (vitest includes docs/snippets/*.test.ts).
 */
// #region http
import { Cookies, HttpClient, HttpClientRequest, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Ref, Schema, TestClock } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"

const Cart = Session.key("cart", Schema.Array(Schema.String))

const app = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/cart/:sku",
    Effect.gen(function*() {
      const { sku } = yield* HttpRouter.schemaPathParams(Schema.Struct({ sku: Schema.String }))
      yield* Session.modify(Cart, (cart) => [...Option.getOrElse(cart, () => []), sku])
      return HttpServerResponse.text("added")
    })
  ),
  HttpRouter.get(
    "/cart",
    Effect.gen(function*() {
      yield* Session.failIfExpired
      return HttpServerResponse.text((yield* Session.getOrElse(Cart, () => [])).join(","))
    }).pipe(
      Effect.catchTag("SessionTimeout", () => Effect.succeed(HttpServerResponse.text("expired", { status: 401 })))
    )
  ),
  HttpSession.middleware
)

const SessionTest = HttpSession.layer({
  secrets: [Redacted.make("a test secret: 32 bytes or more, not a real one")],
  cookie: { secure: false } // the test client talks plain HTTP
}).pipe(Layer.provide(SessionStore.layerMemory()))

describe("cart over HTTP", () => {
  // a real server on a random port and an HttpClient pointed at it (NodeHttpServer.layerTest),
  // still under TestClock: the server's sockets do not wait on the clock
  it.scoped("the cookie carries the cart; after 31 idle minutes the app answers 401", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(app)
      const jar = yield* Ref.make(Cookies.empty) // a cookie jar, as a browser keeps one
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withCookiesRef(jar))

      const first = yield* client.execute(HttpClientRequest.post("/cart/apple"))
      const cookie = Option.getOrThrow(Cookies.get(first.cookies, "session"))
      expect(cookie.options?.httpOnly).toBe(true)
      expect(cookie.options?.sameSite).toBe("lax")
      yield* client.execute(HttpClientRequest.post("/cart/pear"))
      const cart = yield* client.execute(HttpClientRequest.get("/cart"))
      expect(yield* cart.text).toBe("apple,pear")

      yield* TestClock.adjust("31 minutes")
      const expired = yield* client.execute(HttpClientRequest.get("/cart"))
      expect(expired.status).toBe(401)
    }).pipe(Effect.provide(NodeHttpServer.layerTest), Effect.provide(SessionTest)))
})
// #endregion http
