import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema, TestClock } from "effect"
import { HttpSession, Session } from "effect-session"
import * as Example from "../examples/app.js"
import { client, secret, serve } from "./utils/http.js"

const sealed = (options: Partial<HttpSession.SealedOptions> = {}) =>
  HttpSession.layerSealed({ secrets: [secret], ...options, cookie: { secure: false, ...options.cookie } }).pipe(
    Layer.orDie
  )

const Note = Session.key("note", Schema.String)
const noteApp = HttpRouter.empty.pipe(
  HttpRouter.get("/note", Effect.map(Session.getOrElse(Note, () => ""), (n) => HttpServerResponse.text(n))),
  HttpRouter.post("/note", Effect.as(Session.set(Note, "a private note"), HttpServerResponse.text("ok"))),
  HttpRouter.post("/big", Effect.as(Session.set(Note, "x".repeat(5000)), HttpServerResponse.text("ok"))),
  HttpRouter.post("/logout", Effect.as(Session.destroy, HttpServerResponse.text("bye"))),
  HttpSession.middleware
)

describe("sealed cookie transport (no store)", () => {
  it.scopedLive("the seed's apps work with the data sealed in the cookie", () =>
    Effect.gen(function*() {
      const http = client(yield* serve(Example.app, sealed()))
      expect((yield* http.get("/history/foo")).body).toBe("/foo")
      expect((yield* http.get("/history/bar")).body).toBe("/foo, /bar")
      expect((yield* http.get("/history/fail")).status).toBe(500)
      expect((yield* http.get("/history/baz")).body).toBe("/foo, /bar, /baz")
      expect((yield* http.get("/transactional")).body).toBe("CromLech")
    }))

  it.scopedLive("the cookie is opaque and authenticated: a changed byte gives a fresh session", () =>
    Effect.gen(function*() {
      const base = yield* serve(noteApp, sealed())
      const http = client(base)
      const reply = yield* http.post("/note")
      const cookie = reply.setCookies[0]!
      expect(cookie).toContain("HttpOnly")
      expect(cookie).not.toContain("private")
      const value = http.jar.get("session")!
      expect((yield* http.get("/note")).body).toBe("a private note")
      const i = Math.floor(value.length / 2)
      const tampered = value.slice(0, i) + (value[i] === "A" ? "B" : "A") + value.slice(i + 1)
      expect((yield* client(base).get("/note", { headers: { cookie: `session=${tampered}` } })).body).toBe("")
      // another secret cannot open it
      const other = yield* serve(
        noteApp,
        sealed({ secrets: [Redacted.make("another secret of at least thirty-two bytes")] })
      )
      expect((yield* client(other).get("/note", { headers: { cookie: `session=${value}` } })).body).toBe("")
    }))

  it.scopedLive("a session too big for a cookie fails its commit (503) instead of being dropped", () =>
    Effect.gen(function*() {
      const http = client(yield* serve(noteApp, sealed()))
      const reply = yield* http.post("/big")
      expect(reply.status).toBe(503)
      expect(reply.setCookies).toEqual([])
    }))

  it.scopedLive("logout expires the cookie", () =>
    Effect.gen(function*() {
      const http = client(yield* serve(noteApp, sealed()))
      yield* http.post("/note")
      const bye = yield* http.post("/logout")
      expect(bye.setCookies[0]).toMatch(/^session=; Max-Age=0/)
      expect((yield* http.get("/note")).body).toBe("")
    }))

  it.scoped("expiry is inside the seal: an old cookie is a SessionTimeout with the old data", () =>
    Effect.gen(function*() {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post("/note", Effect.as(Session.set(Note, "old"), HttpServerResponse.text("ok"))),
        HttpRouter.get(
          "/expired",
          Effect.map(
            Session.expired,
            (t) => HttpServerResponse.text(Option.isSome(t) ? `expired ${t.value.reason}` : "live")
          )
        ),
        HttpSession.middleware
      )
      const http = client(yield* serve(app, sealed({ idleTimeout: "10 minutes" })))
      yield* http.post("/note")
      expect((yield* http.get("/expired")).body).toBe("live")
      yield* TestClock.adjust("11 minutes")
      expect((yield* http.get("/expired")).body).toBe("expired Idle")
    }))
})
