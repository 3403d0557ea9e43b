/**
 * The shopping cart of examples/http-router.ts on `HttpLayerRouter`: the same handlers (cart.ts),
 * routes as layers, and the session as a global middleware layer, `HttpSession.layerRouter`.
 *
 * Run: npx tsx examples/http-layer-router.ts   (HOST, PORT: default 127.0.0.1:3000; PORT=0 picks a free port)
 *
 * SESSION_SECRET: the cookie-signing secret (32 bytes or more); a random one when unset.
 * SESSION_COOKIE_SECURE: `true` behind HTTPS; off by default for plain-HTTP development.
 */
import { HttpLayerRouter } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Encoding, Layer, Redacted, Schema } from "effect"
import { HttpSession, SessionStore } from "effect-session"
import { createServer } from "node:http"
import * as Cart from "./cart.js"

const Routes = HttpLayerRouter.addAll([
  HttpLayerRouter.route("GET", "/cart", Cart.getCart),
  HttpLayerRouter.route("POST", "/cart/items", Cart.postItem),
  HttpLayerRouter.route(
    "DELETE",
    "/cart/items/:sku",
    Effect.flatMap(
      HttpLayerRouter.schemaPathParams(Schema.Struct({ sku: Schema.String })),
      ({ sku }) => Cart.deleteItem(sku)
    )
  ),
  HttpLayerRouter.route("POST", "/checkout", Cart.postCheckout),
  HttpLayerRouter.route("GET", "/orders", Cart.getOrders)
])

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

// HttpLayerRouter.serve logs requests and "Listening on http://host:port"
HttpLayerRouter.serve(Routes.pipe(Layer.provide(HttpSession.layerRouter))).pipe(
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
