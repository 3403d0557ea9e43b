/**
 * A shopping cart on `HttpRouter` with `HttpSession.middleware` (the handlers are in cart.ts).
 *
 * Run: npx tsx examples/http-router.ts   (HOST, PORT: default 127.0.0.1:3000; PORT=0 picks a free port)
 *
 *   curl -s -c jar -b jar -H 'content-type: application/json' -d '{"sku":"tea","qty":2}' localhost:3000/cart/items
 *   curl -s -c jar -b jar localhost:3000/cart
 *   curl -s -c jar -b jar -H 'content-type: application/json' -d '{"card":"4000-0000-0000-0002"}' localhost:3000/checkout
 *   # 402: declined, and the cart is still there (the handler's writes were discarded)
 *   curl -s -c jar -b jar -H 'content-type: application/json' -d '{"card":"4242-4242-4242-4242"}' localhost:3000/checkout
 *   curl -s -c jar -b jar localhost:3000/orders
 *
 * SESSION_SECRET: the cookie-signing secret (32 bytes or more); a random one when unset.
 * SESSION_COOKIE_SECURE: `true` behind HTTPS; off by default for plain-HTTP development.
 */
import { HttpMiddleware, HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Encoding, Layer, Redacted, Schema } from "effect"
import { HttpSession, SessionStore } from "effect-session"
import { createServer } from "node:http"
import * as Cart from "./cart.js"

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/cart", Cart.getCart),
  HttpRouter.post("/cart/items", Cart.postItem),
  HttpRouter.del(
    "/cart/items/:sku",
    Effect.flatMap(
      HttpRouter.schemaPathParams(Schema.Struct({ sku: Schema.String })),
      ({ sku }) => Cart.deleteItem(sku)
    )
  ),
  HttpRouter.post("/checkout", Cart.postCheckout),
  HttpRouter.get("/orders", Cart.getOrders),
  // on the router itself: every handler is one unit of work on the request's session
  HttpSession.middleware
)

const randomSecret = () => Redacted.make(Encoding.encodeBase64Url(crypto.getRandomValues(new Uint8Array(32))))

const SessionLive = HttpSession.layerConfig({
  secrets: Config.array(Config.redacted("SESSION_SECRET")).pipe(Config.withDefault([randomSecret()])),
  cookie: Config.all({ secure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(false)) })
}).pipe(Layer.provide(SessionStore.layerMemory()))

// Config.integer, not Config.port: PORT=0 (a free port) is allowed
const ServerLive = NodeHttpServer.layerConfig(createServer, {
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.integer("PORT").pipe(Config.withDefault(3000))
})

HttpServer.serve(app, HttpMiddleware.logger).pipe(
  HttpServer.withLogAddress, // logs "Listening on http://host:port"
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
