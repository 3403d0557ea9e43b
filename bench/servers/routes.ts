/**
 * The routes every Effect benchmark measures (bench/servers/effect.ts over a socket, bench/ops.ts in
 * process): `GET /untouched` never touches the session, `GET /read` reads `count`, `POST /counter`
 * reads and writes it. The bare router answers the same paths with constants; the floor router
 * (`floorRouter`, below) is the least a session service on Effect can do, to measure against.
 */
import { HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Option, Schema } from "effect"
import * as HttpSession from "../../src/HttpSession.js"
import * as Session from "../../src/Session.js"

export const Count = Session.key("count", Schema.Number)

export const bareRouter = HttpRouter.empty.pipe(
  HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
  HttpRouter.get("/read", Effect.succeed(HttpServerResponse.text("1"))),
  HttpRouter.post("/counter", Effect.succeed(HttpServerResponse.text("1")))
)

export const sessionRouter = HttpRouter.empty.pipe(
  HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
  HttpRouter.get("/read", Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(String(n)))),
  HttpRouter.post(
    "/counter",
    Effect.map(
      Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1),
      (n) => HttpServerResponse.text(String(n))
    )
  ),
  HttpSession.middleware
)

/**
 * The floor of any session layer built on Effect's services: a middleware that provides one
 * service per request (`Effect.provideService`), holding a mutable `{ count }` read from a plain
 * `Map` by the cookie's value and written back after the handler if it changed. No signature, no
 * lock, no snapshot, no expiry, nothing encoded: the least a per-request session service can do.
 */
class FloorSession extends Context.Tag("bench/FloorSession")<FloorSession, { count: number; changed: boolean }>() {}
const floorStore = new Map<string, number>()
const floorMiddleware = HttpMiddleware.make((app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const id = request.cookies.session ?? ""
    const state = { count: floorStore.get(id) ?? 0, changed: false }
    return Effect.map(Effect.provideService(app, FloorSession, state), (response) => {
      if (state.changed) floorStore.set(id, state.count)
      return response
    })
  })
)

const floorRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
  HttpRouter.get("/read", Effect.map(FloorSession, (s) => HttpServerResponse.text(String(s.count)))),
  HttpRouter.post(
    "/counter",
    Effect.map(FloorSession, (s) => {
      s.count++
      s.changed = true
      return HttpServerResponse.text(String(s.count))
    })
  )
)

export const floorRouter = floorMiddleware(floorRoutes)

/**
 * The same floor with the count in Redis: one GET before the handler and one SET after it when
 * the count changed, each one `Effect.promise` over an ioredis command: the least two round trips
 * to a remote store cost an Effect app, with no script, no version check and no expiry.
 */
export const floorRedisRouter = (
  client: { get(key: string): Promise<string | null>; set(key: string, value: string): Promise<unknown> }
) =>
  HttpMiddleware.make((app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const key = `floor:${request.cookies.session ?? ""}`
      return Effect.flatMap(Effect.promise(() => client.get(key)), (stored) => {
        const state = { count: Number(stored ?? 0), changed: false }
        return Effect.flatMap(
          Effect.provideService(app, FloorSession, state),
          (response) =>
            state.changed
              ? Effect.as(Effect.promise(() => client.set(key, String(state.count))), response)
              : Effect.succeed(response)
        )
      })
    })
  )(floorRoutes)
