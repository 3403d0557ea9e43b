/**
 * docs/expiry.md, "Expiry in HttpApi". Type-checked by `npm run check`, run by
 * docs/snippets/expiry-api.test.ts (under TestClock).
 */
// #region api
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Effect, Layer, Option, Schema } from "effect"
import { HttpSession, Session } from "effect-session"

const User = Session.key("user", Schema.String)

// what the client gets for an expired session: a 401 that says why
export class SessionExpired extends Schema.TaggedError<SessionExpired>()(
  "SessionExpired",
  { reason: Schema.Literal("Idle", "Absolute") },
  HttpApiSchema.annotations({ status: 401 })
) {}

class Account extends HttpApiGroup.make("account")
  .add(HttpApiEndpoint.post("login", "/login").setPayload(Schema.Struct({ user: Schema.String })))
  .add(
    HttpApiEndpoint.get("me", "/me").addSuccess(Schema.String).addError(SessionExpired).addError(
      HttpApiError.Unauthorized
    )
  )
  .addError(HttpSession.SessionUnavailable)
  // ApiSession gives the handlers their unit of work; Session.failIfExpired and Session.expired
  // read the SessionManager, which ApiSessionManager provides
  .middleware(HttpSession.ApiSession)
  .middleware(HttpSession.ApiSessionManager)
{}

export class Api extends HttpApi.make("app").add(Account) {}

const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    .handle("login", ({ payload }) => Session.set(User, payload.user).pipe(HttpSession.orUnavailable))
    .handle("me", () =>
      Effect.gen(function*() {
        yield* Session.failIfExpired // fails with SessionTimeout when the presented session had expired
        const user = yield* Session.get(User)
        if (Option.isNone(user)) return yield* Effect.fail(new HttpApiError.Unauthorized())
        return user.value
      }).pipe(
        Effect.catchTag("SessionTimeout", (timeout) => Effect.fail(new SessionExpired({ reason: timeout.reason }))),
        HttpSession.orUnavailable
      )))

export const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide(AccountLive), Layer.provide(HttpSession.layerApi))
// #endregion api
