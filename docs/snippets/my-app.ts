/**
 * A stand-in for "your app" in README.md's one-line-per-flavour block: a router, HttpLayerRouter
 * routes, an HttpApi and its groups. Type-checked by `npm run check`.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpLayerRouter,
  HttpRouter,
  HttpServerResponse
} from "@effect/platform"
import { Effect, Schema } from "effect"
import { HttpSession, Session } from "effect-session"

const Name = Session.key("name", Schema.String)

const greeting = Effect.map(Session.getOrElse(Name, () => "stranger"), (name) => `hello ${name}`)

export const router = HttpRouter.empty.pipe(HttpRouter.get("/", Effect.map(greeting, HttpServerResponse.text)))

export const routes = HttpLayerRouter.add("GET", "/", Effect.map(greeting, HttpServerResponse.text))

class Hello extends HttpApiGroup.make("hello")
  .add(HttpApiEndpoint.get("hello", "/").addSuccess(Schema.String))
  .middleware(HttpSession.ApiSession)
{}

export class Api extends HttpApi.make("app").add(Hello) {}

export const groups = HttpApiBuilder.group(
  Api,
  "hello",
  (handlers) => handlers.handle("hello", () => Effect.orDie(greeting))
)
