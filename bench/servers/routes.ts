/**
 * The routes every Effect benchmark measures (bench/servers/effect.ts over a socket, bench/ops.ts in
 * process): `GET /untouched` never touches the session, `GET /read` reads `count`, `POST /counter`
 * reads and writes it. The bare router answers the same paths with constants; the floor router
 * (`floorRouter`, below) is the least a session service on Effect can do, to measure against.
 */
import { HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Layer, Option, Schema } from "effect"
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
 * The floor of any session layer built on Effect's services (the request-keyed floor): a
 * middleware that provides nothing per request (no copy of the fiber's context) and binds a
 * mutable `{ count }`, read from a plain `Map` by the cookie's value, to the request (a `WeakMap`
 * keyed by the request's source); the handler finds it through a `FloorSession` service put in the
 * context once, at start-up (`floorLayer`), so that a handler still requires it. The count is
 * written back after the handler if it changed. No signature, no lock, no snapshot, no expiry,
 * nothing encoded: the least a per-request session service can do.
 */
interface FloorState {
  count: number
  changed: boolean
}
const floorStates = new WeakMap<object, FloorState>()
const requestKey = (request: HttpServerRequest.HttpServerRequest): object => {
  const source = request.source
  return typeof source === "object" && source !== null ? source : request
}
class FloorSession
  extends Context.Tag("bench/FloorSession")<FloorSession, { readonly state: Effect.Effect<FloorState> }>()
{}

/** The floor's one service, in the context once (see the routers below). */
export const floorLayer = Layer.succeed(FloorSession, {
  state: Effect.contextWith((context: Context.Context<never>) =>
    floorStates.get(requestKey(Context.unsafeGet(context, HttpServerRequest.HttpServerRequest)))!
  )
})

const floorMiddleware = (
  load: (id: string) => Effect.Effect<number>,
  save: (id: string, count: number) => Effect.Effect<void>
) =>
  HttpMiddleware.make((app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const id = request.cookies.session ?? ""
      return Effect.flatMap(load(id), (count) => {
        const state: FloorState = { count, changed: false }
        floorStates.set(requestKey(request), state)
        return Effect.flatMap(
          app,
          (response) => state.changed ? Effect.as(save(id, state.count), response) : Effect.succeed(response)
        )
      })
    })
  )

const floorRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
  HttpRouter.get(
    "/read",
    Effect.flatMap(FloorSession, (s) => Effect.map(s.state, (state) => HttpServerResponse.text(String(state.count))))
  ),
  HttpRouter.post(
    "/counter",
    Effect.flatMap(FloorSession, (s) =>
      Effect.map(s.state, (state) => {
        state.count++
        state.changed = true
        return HttpServerResponse.text(String(state.count))
      }))
  )
)

const floorStore = new Map<string, number>()
/** The floor with its counts in a `Map`; needs `floorLayer`. */
export const floorRouter = floorMiddleware(
  (id) => Effect.sync(() => floorStore.get(id) ?? 0),
  (id, count) => Effect.sync(() => void floorStore.set(id, count))
)(floorRoutes)

/**
 * The same floor with the count in Redis: one GET before the handler and one SET after it when
 * the count changed, each one `Effect.promise` over an ioredis command: the least two round trips
 * to a remote store cost an Effect app, with no script, no version check and no expiry. Needs
 * `floorLayer`.
 */
export const floorRedisRouter = (
  client: { get(key: string): Promise<string | null>; set(key: string, value: string): Promise<unknown> }
) =>
  floorMiddleware(
    (id) => Effect.map(Effect.promise(() => client.get(`floor:${id}`)), (stored) => Number(stored ?? 0)),
    (id, count) => Effect.asVoid(Effect.promise(() => client.set(`floor:${id}`, String(count))))
  )(floorRoutes)
