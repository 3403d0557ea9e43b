/**
 * #12 defect 5: a write outside any unit of work in an `HttpSession.manual` handler. It used to die
 * with "Service not found: effect-session/Session" (an HTTP 500); it is now the seed's
 * `SessionStateError`, whose message says what to do, and reads there show the committed data.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { client, Count, serve, sessionLayer } from "./utils/http.js"

const app = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/in-unit",
    HttpSession.manual(Effect.map(
      Session.transaction(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)),
      (n) => HttpServerResponse.text(String(n))
    ))
  ),
  HttpRouter.post(
    "/outside",
    HttpSession.manual(Effect.gen(function*() {
      const read = yield* Session.getOrElse(Count, () => 0)
      const error = yield* Effect.flip(Session.set(Count, 99))
      const reason = error._tag === "SessionStateError" ? error.reason : "-"
      return HttpServerResponse.text(`${read} ${error._tag} ${reason} ${error.message}`)
    }))
  ),
  HttpSession.middleware
)

describe("#12 defect 5: HttpSession.manual outside its units", () => {
  it.scopedLive("a write outside Session.transaction is a SessionStateError saying what to do; reads work", () =>
    Effect.gen(function*() {
      const http = client(yield* serve(app, sessionLayer(SessionStore.layerMemory())))
      expect((yield* http.post("/in-unit")).body).toBe("1")
      const outside = yield* http.post("/outside")
      expect(outside.status).toBe(200)
      expect(outside.body).toMatch(/^1 SessionStateError OutsideUnit .*Session\.transaction/)
      // the refused write changed nothing
      expect((yield* http.post("/in-unit")).body).toBe("2")
    }))
})
