/**
 * "Remember me" over HTTP: a handler chooses a lifetime for its session; the browser-session cookie
 * becomes persistent, with a Max-Age that follows the session's own expiry.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { client, increment, serve, sessionLayer } from "./utils/http.js"

const app = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/login",
    Effect.gen(function*() {
      yield* Session.set("user", "ann")
      yield* Session.regenerate
      yield* Session.rememberFor("30 days")
      return HttpServerResponse.text("ok")
    })
  ),
  HttpRouter.post("/counter", increment),
  HttpSession.middleware
)

const maxAge = (setCookie: string | undefined) => Number(/max-age=(\d+)/i.exec(setCookie ?? "")?.[1] ?? NaN)

describe("remember me over HTTP", () => {
  it.scopedLive("a remembered session's cookie is persistent for its own lifetime; others stay browser-session", () =>
    Effect.gen(function*() {
      const http = client(yield* serve(app, sessionLayer(SessionStore.layerMemory(), { idleTimeout: "30 minutes" })))
      const first = yield* http.post("/counter")
      expect(first.setCookies[0]).not.toMatch(/max-age/i)
      const login = yield* http.post("/login")
      expect(login.status).toBe(200)
      // about 30 days, in seconds (the clock moved a little during the request)
      expect(Math.abs(maxAge(login.setCookies[0]) - 30 * 24 * 60 * 60)).toBeLessThan(5)
      // every save re-sends it, so that it keeps following the session's expiry
      const again = yield* http.post("/counter")
      expect(again.body).toBe("2")
      expect(Math.abs(maxAge(again.setCookies[0]) - 30 * 24 * 60 * 60)).toBeLessThan(5)
    }))
})
