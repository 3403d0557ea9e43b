/**
 * docs/testing.md, "An HttpApi app over HTTP": a real test file, run by `npm test` (vitest includes
 * docs/snippets/*.test.ts).
 */
// #region api
import {
  Cookies,
  HttpApi,
  HttpApiBuilder,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiError,
  HttpApiGroup,
  HttpClient
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Ref, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"

// the app under test: log in, who am I, log out
const User = Session.key("user", Schema.String)

class Account extends HttpApiGroup.make("account")
  .add(HttpApiEndpoint.post("login", "/login").setPayload(Schema.Struct({ user: Schema.String })))
  .add(HttpApiEndpoint.get("me", "/me").addSuccess(Schema.String).addError(HttpApiError.Unauthorized))
  .add(HttpApiEndpoint.post("logout", "/logout"))
  .addError(HttpSession.SessionUnavailable) // a failed store answers 503
  .middleware(HttpSession.ApiSession)
{}

class Api extends HttpApi.make("app").add(Account) {}

const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    .handle("login", ({ payload }) =>
      Effect.zipRight(Session.set(User, payload.user), Session.regenerate).pipe(HttpSession.orUnavailable))
    .handle("me", () =>
      Session.get(User).pipe(
        HttpSession.orUnavailable,
        Effect.flatMap(Option.match({
          onNone: () =>
            Effect.fail(new HttpApiError.Unauthorized()),
          onSome: Effect.succeed
        }))
      ))
    .handle("logout", () =>
      HttpSession.orUnavailable(Session.destroy)))

const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide(AccountLive), Layer.provide(HttpSession.layerApi))

const SessionTest = HttpSession.layer({
  secrets: [Redacted.make("a test secret: 32 bytes or more, not a real one")],
  cookie: { secure: false } // the test client talks plain HTTP
}).pipe(Layer.provide(SessionStore.layerMemory())) // a fresh store for each test that provides it

// the API served as in production, on a real server on a random port, and an HttpClient pointed
// at it (NodeHttpServer.layerTest)
const ServerTest = HttpApiBuilder.serve().pipe(
  Layer.provide(ApiLive),
  Layer.provide(SessionTest),
  Layer.provideMerge(NodeHttpServer.layerTest)
)

describe("account API over HTTP", () => {
  it.scoped("the session cookie set at login carries the user; logout ends it", () =>
    Effect.gen(function*() {
      // a typed client for the API, with a cookie jar as a browser keeps one
      const jar = yield* Ref.make(Cookies.empty)
      const client = yield* HttpApiClient.make(Api, { transformClient: HttpClient.withCookiesRef(jar) })
      const stranger = yield* HttpApiClient.make(Api) // no cookie jar

      expect((yield* Effect.flip(client.account.me()))._tag).toBe("Unauthorized")

      yield* client.account.login({ payload: { user: "alice" } })
      const cookie = Option.getOrThrow(Cookies.get(yield* Ref.get(jar), "session"))
      expect(cookie.options?.httpOnly).toBe(true)
      expect(cookie.options?.sameSite).toBe("lax")

      expect(yield* client.account.me()).toBe("alice") // the cookie went back with the request
      expect((yield* Effect.flip(stranger.account.me()))._tag).toBe("Unauthorized")

      yield* client.account.logout()
      expect((yield* Effect.flip(client.account.me()))._tag).toBe("Unauthorized")
    }).pipe(Effect.provide(ServerTest)))
})
// #endregion api
