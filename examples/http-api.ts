/**
 * `HttpApi` with sessions: log in / log out, and a protected group behind an authentication
 * middleware of the app's own that reads the user from the session.
 *
 * - `HttpSession.ApiSession` (a group middleware) gives handlers their unit of work; `HttpSession.layerApi`
 *   commits or discards it around the whole API app (a declared error is a 4xx: discarded).
 * - `POST /login` sets the user, binds the session to it and calls `Session.regenerate` (new id: a
 *   session fixation defence); `POST /logout` is `Session.destroy` (data deleted, cookie expired).
 * - The `notes` group is protected by `Authenticated`, whose failure is `Unauthorized` (401).
 * - Session errors in handlers, the one documented pattern: pipe session code through
 *   `HttpSession.orUnavailable` and declare `HttpSession.SessionUnavailable` on the groups. A store
 *   failure is then the declared `SessionUnavailable` (503, its JSON body; a failed commit answers
 *   the same); a bug-like error (data that does not decode, a write after the unit closed) is a
 *   defect (500).
 *
 * Run: npx tsx examples/http-api.ts   (HOST, PORT: default 127.0.0.1:3000; PORT=0 picks a free port)
 *
 *   curl -si localhost:3000/notes                                    # 401
 *   curl -s -c jar -b jar -H 'content-type: application/json' -d '{"user":"alice","password":"wonderland"}' localhost:3000/login
 *   curl -s -c jar -b jar -H 'content-type: application/json' -d '{"text":"buy milk"}' localhost:3000/notes
 *   curl -s -c jar -b jar -X POST localhost:3000/logout                # 204; the cookie is expired
 *
 * SESSION_SECRET: the cookie-signing secret (32 bytes or more); a random one when unset.
 * SESSION_COOKIE_SECURE: `true` behind HTTPS; off by default for plain-HTTP development.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpMiddleware,
  HttpServer
} from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Context, Effect, Encoding, Layer, Option, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { createServer } from "node:http"

// ---------------------------------------------------------------------------------------------
// session keys, errors, the authentication middleware
// ---------------------------------------------------------------------------------------------

const User = Session.key("user", Schema.String)
const Notes = Session.key("notes", Schema.Array(Schema.String))

class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

class InvalidCredentials
  extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {}, HttpApiSchema.annotations({ status: 401 }))
{}

/** The logged-in user, provided to the handlers of a protected group. */
class CurrentUser extends Context.Tag("CurrentUser")<CurrentUser, { readonly name: string }>() {}

/** Fails with `Unauthorized` (401) when the session has no user (`SessionUnavailable`, 503: the store failed). */
class Authenticated extends HttpApiMiddleware.Tag<Authenticated>()("Authenticated", {
  failure: Schema.Union(Unauthorized, HttpSession.SessionUnavailable),
  provides: CurrentUser
}) {}

const AuthenticatedLive = Layer.effect(
  Authenticated,
  Effect.gen(function*() {
    // HttpSession.ApiSession's service gives the request's unit of work (provided by layerApi)
    const currentSession = yield* HttpSession.ApiSession
    return Effect.gen(function*() {
      const session = yield* currentSession
      const user = yield* HttpSession.orUnavailable(session.get(User))
      if (Option.isNone(user)) return yield* new Unauthorized({ message: "log in first" })
      return { name: user.value }
    })
  })
)

// ---------------------------------------------------------------------------------------------
// the API
// ---------------------------------------------------------------------------------------------

const Credentials = Schema.Struct({ user: Schema.String, password: Schema.String })
const Me = Schema.Struct({ user: Schema.String })

class Account extends HttpApiGroup.make("account")
  .add(
    HttpApiEndpoint.post("login", "/login").setPayload(Credentials).addSuccess(Me).addError(InvalidCredentials)
  )
  .add(HttpApiEndpoint.post("logout", "/logout"))
  .addError(HttpSession.SessionUnavailable)
  .middleware(HttpSession.ApiSession)
{}

class NotesGroup extends HttpApiGroup.make("notes")
  .add(HttpApiEndpoint.get("me", "/me").addSuccess(Me))
  .add(HttpApiEndpoint.get("list", "/notes").addSuccess(Schema.Array(Schema.String)))
  .add(
    HttpApiEndpoint.post("add", "/notes")
      .setPayload(Schema.Struct({ text: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)) }))
      .addSuccess(Schema.Array(Schema.String), { status: 201 })
  )
  .addError(HttpSession.SessionUnavailable)
  // ApiSession first: Authenticated reads the user from the session
  .middleware(HttpSession.ApiSession)
  .middleware(Authenticated)
{}

class Api extends HttpApi.make("notes-app").add(Account).add(NotesGroup) {}

// a stand-in for a user database
const users: Record<string, string> = { alice: "wonderland", bob: "builder" }

const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    .handle("login", ({ payload }) =>
      Effect.gen(function*() {
        if (users[payload.user] !== payload.password) return yield* new InvalidCredentials()
        yield* HttpSession.orUnavailable(Effect.gen(function*() {
          yield* Session.set(User, payload.user)
          yield* Session.bindUser(payload.user) // for SessionStore.deleteByUser ("log out everywhere")
          yield* Session.regenerate // a new id on login; the data moves along, the old id is deleted
        }))
        return { user: payload.user }
      }))
    .handle("logout", () => HttpSession.orUnavailable(Session.destroy)))

const NotesLive = HttpApiBuilder.group(Api, "notes", (handlers) =>
  handlers
    .handle("me", () => Effect.map(CurrentUser, ({ name }) => ({ user: name })))
    .handle("list", () => HttpSession.orUnavailable(Session.getOrElse(Notes, () => [])))
    .handle("add", ({ payload }) =>
      HttpSession.orUnavailable(
        Session.modify(Notes, (notes) => [...Option.getOrElse(notes, () => []), payload.text])
      )))

const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([AccountLive, NotesLive]),
  Layer.provide(AuthenticatedLive),
  // ApiSession, the request's SessionManager, and the wrapper that commits or discards each request's unit
  Layer.provide(HttpSession.layerApi)
)

// ---------------------------------------------------------------------------------------------
// the server
// ---------------------------------------------------------------------------------------------

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

HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
  HttpServer.withLogAddress,
  Layer.provide(ApiLive),
  Layer.provide(SessionLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
