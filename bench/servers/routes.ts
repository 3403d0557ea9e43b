/**
 * The routes every Effect benchmark measures (bench/servers/effect.ts over a socket, bench/ops.ts in
 * process): `GET /untouched` never touches the session, `GET /read` reads `count`, `POST /counter`
 * reads and writes it. The bare router answers the same paths with constants.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
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
