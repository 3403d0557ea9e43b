/**
 * The example app: the seed's two apps (history, transactional), a counter, login/logout and a page
 * that shows the session. `examples/server.ts` serves it; the tests mount the same handlers in each
 * middleware flavour.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Data, Effect, Option, Schema } from "effect"
import { HttpSession, Session } from "effect-session"

export class Failed extends Data.TaggedError("Failed")<{}> {}

export const Path = Session.key("path", Schema.Array(Schema.String))
export const Count = Session.key("count", Schema.Number)
export const User = Session.key("user", Schema.String)
const Crom = Session.key("crom", Schema.String)
const Lech = Session.key("lech", Schema.String)

/** The seed's simple_app: appends the visited name to `path`; `/history/fail` appends, then fails. */
export const history = (name: string) =>
  Effect.gen(function*() {
    const visited = [...(yield* Session.getOrElse(Path, () => [])), `/${name}`]
    yield* Session.set(Path, visited)
    if (name === "fail") return yield* new Failed()
    return visited.join(", ")
  })

/** The seed's transactional_app, with the error of the refused write (examples/seed.ts prints it). */
export const transactionalWithRefusal = Effect.gen(function*() {
  yield* Session.transaction(Effect.zipRight(Session.set(Crom, "Pyramid"), Session.abort))
  yield* Session.transaction(Session.set(Crom, "Crom"))
  const unit = yield* Session.transaction(Effect.gen(function*() {
    yield* Session.set(Lech, "Lech")
    const sp1 = yield* Session.savepoint
    yield* Session.set(Crom, "Zope")
    yield* Session.set(Lech, "Quack")
    const sp2 = yield* Session.savepoint
    yield* Session.set(Crom, "PHP")
    yield* Session.savepoint
    yield* sp2.rollback
    yield* Session.set(Crom, "Zorglub")
    yield* Session.set(Lech, "Zimbabwe")
    yield* sp1.rollback
    return yield* Session.Session
  }))
  // outside of a unit of work, writing is refused
  const refused = yield* Effect.flip(unit.set(Crom, "late"))
  if (refused.message !== "Session's current state disallows writing") return yield* Effect.die(refused)
  const body = Option.getOrElse(yield* unit.get(Crom), () => "") + Option.getOrElse(yield* unit.get(Lech), () => "")
  return { body, refused }
})

/** The seed's transactional_app: three units of work in one request; answers "CromLech". */
export const transactional = Effect.map(transactionalWithRefusal, ({ body }) => body)

export const increment = Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)
export const count = Session.getOrElse(Count, () => 0)

/** Log in: the id changes (fixation defence), the data stays. */
export const login = (user: string) => Effect.zipRight(Session.set(User, user), Session.regenerate)

/** Log out: the session is deleted and its cookie expired. */
export const logout = Session.destroy

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

export const page = Effect.gen(function*() {
  const visited = yield* Session.getOrElse(Path, () => [])
  const n = yield* count
  const user = yield* Session.get(User)
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>effect-session example</title></head>
<body>
<h1>effect-session</h1>
<p>Logged in: <span id="user">${Option.match(user, { onNone: () => "no", onSome: (u) => `as ${escape(u)}` })}</span></p>
<p>Counter: <span id="count">${n}</span></p>
<p>History: <span id="history">${escape(visited.join(", "))}</span></p>
<form method="post" action="/counter?redirect=1"><button id="increment">Count up</button></form>
<form method="post" action="/login"><input name="user" value="alice"><button id="login">Log in</button></form>
<form method="post" action="/logout"><button id="logout">Log out</button></form>
<p><a href="/history/foo">visit /history/foo</a> · <a href="/transactional">/transactional</a></p>
</body>
</html>`
})

const wantsRedirect = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => new URL(request.url, "http://x").searchParams.has("redirect")
)
const backHome = HttpServerResponse.redirect("/", { status: 303 })

const formUser = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* Effect.orElseSucceed(request.text, () => "")
  const user = new URLSearchParams(text).get("user")?.trim()
  return user !== undefined && user.length > 0 && user.length <= 64 ? user : "alice"
})

/** The routes, without the session middleware. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/", Effect.map(page, (html) => HttpServerResponse.html(html))),
  HttpRouter.get(
    "/history/:name",
    Effect.gen(function*() {
      const { name } = yield* HttpRouter.schemaPathParams(Schema.Struct({ name: Schema.String }))
      return HttpServerResponse.text(yield* history(name))
    })
  ),
  HttpRouter.get(
    "/transactional",
    HttpSession.manual(Effect.map(transactional, (body) => HttpServerResponse.text(body)))
  ),
  HttpRouter.get("/counter", Effect.map(count, (n) => HttpServerResponse.text(String(n)))),
  HttpRouter.post(
    "/counter",
    Effect.gen(function*() {
      const n = yield* increment
      return (yield* wantsRedirect) ? backHome : HttpServerResponse.text(String(n))
    })
  ),
  HttpRouter.post("/login", Effect.flatMap(formUser, login).pipe(Effect.as(backHome))),
  HttpRouter.post("/logout", Effect.as(logout, backHome))
)

/** The app: the routes under the session middleware. */
export const app = router.pipe(HttpSession.middleware)
