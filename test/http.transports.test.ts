import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, HashMap, Layer, Option, Redacted, Schema, TestClock } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { client, serve, sessionLayer } from "./utils/http.js"

const Note = Session.key("note", Schema.String)

const noteApp = HttpRouter.empty.pipe(
  HttpRouter.get("/note", Effect.map(Session.getOrElse(Note, () => ""), (n) => HttpServerResponse.text(n))),
  HttpRouter.post("/note", Effect.as(Session.set(Note, "written"), HttpServerResponse.text("ok"))),
  HttpRouter.post("/logout", Effect.as(Session.destroy, HttpServerResponse.text("bye"))),
  HttpSession.middleware
)

describe("header transport", () => {
  it.scopedLive("the signed id travels in a request header and comes back in the response header when it changes", () =>
    Effect.gen(function*() {
      const base = yield* serve(
        noteApp,
        sessionLayer(SessionStore.layerMemory(), { transport: { _tag: "Header", name: "X-Session" } })
      )
      const http = client(base)
      const first = yield* http.post("/note")
      const token = first.headers.get("x-session")
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
      expect(first.setCookies).toEqual([])
      const read = yield* http.get("/note", { headers: { "x-session": token! } })
      expect(read.body).toBe("written")
      expect(read.headers.get("x-session")).toBeNull()
      // a forged token: a fresh session
      const forged = yield* http.get("/note", { headers: { "x-session": `${token!.slice(0, 44)}${"A".repeat(43)}` } })
      expect(forged.body).toBe("")
      // destroy: an empty header tells the client to forget its token
      const bye = yield* http.post("/logout", { headers: { "x-session": token! } })
      expect(bye.headers.get("x-session")).toBe("")
      expect((yield* http.get("/note", { headers: { "x-session": token! } })).body).toBe("")
    }))
})

describe("query transport (legacy)", () => {
  it.scopedLive("a GET without an id is redirected to the same URL with one; the id then travels in the URL", () =>
    Effect.gen(function*() {
      const base = yield* serve(
        noteApp,
        sessionLayer(SessionStore.layerMemory(), { transport: { _tag: "Query" } })
      )
      const http = client(base)
      const redirect = yield* http.get("/note?x=1")
      expect(redirect.status).toBe(302)
      const location = redirect.headers.get("location")!
      // the id, the time it was minted, the signature
      expect(location).toMatch(/^\/note\?x=1&sid=[A-Za-z0-9_-]{43}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/)
      expect((yield* http.post(location)).body).toBe("ok")
      expect((yield* http.get(location)).body).toBe("written")
      // a forged id in the URL: redirected to a fresh one, the store is not asked for it
      const forged = yield* http.get(location.replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`))
      expect(forged.status).toBe(302)
      expect(forged.headers.get("location")).not.toBe(location)
    }))
})

describe("expiry over HTTP", () => {
  it.scoped("an expired session: a fresh session, and the SessionTimeout with the old data in the error channel", () =>
    Effect.gen(function*() {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post("/note", Effect.as(Session.set(Note, "before expiry"), HttpServerResponse.text("ok"))),
        HttpRouter.get(
          "/private",
          Effect.gen(function*() {
            yield* Session.failIfExpired
            return HttpServerResponse.text(Option.getOrElse(yield* Session.get(Note), () => "(empty)"))
          }).pipe(
            Effect.catchTag("SessionTimeout", (timeout) =>
              Effect.succeed(
                HttpServerResponse.text(
                  `expired (${timeout.reason}); had ${Option.getOrElse(HashMap.get(timeout.data, "note"), () => "")}`,
                  { status: 401 }
                )
              ))
          )
        ),
        HttpSession.middleware
      )
      const base = yield* serve(app, sessionLayer(SessionStore.layerMemory(), { idleTimeout: "30 minutes" }))
      const http = client(base)
      yield* http.post("/note")
      const oldCookie = http.jar.get("session")!
      expect((yield* http.get("/private")).body).toBe("before expiry")
      yield* TestClock.adjust("31 minutes")
      const expired = yield* http.get("/private")
      expect(expired.status).toBe(401)
      expect(expired.body).toBe("expired (Idle); had before expiry")
      // the stale cookie is expired by the response, and the next request is simply a new session
      expect(expired.setCookies.some((c) => c.startsWith("session=;") && c.includes("Max-Age=0"))).toBe(true)
      expect(http.jar.has("session")).toBe(false)
      const again = yield* client(base).get("/private", {
        headers: { cookie: `session=${oldCookie}` }
      })
      expect(again.body).toBe("(empty)")
    }))
})

describe("configuration", () => {
  it.scopedLive("layerConfig reads secrets (redacted), timeouts and cookie attributes from Config", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(
        new Map([
          ["SESSION_SECRET", "a secret from the environment of 32 bytes+"],
          ["SESSION_COOKIE_NAME", "app_session"],
          ["SESSION_IDLE", "5 minutes"]
        ])
      )
      const layer = HttpSession.layerConfig({
        secrets: Config.array(Config.redacted("SESSION_SECRET")),
        idleTimeout: Config.duration("SESSION_IDLE"),
        cookie: Config.all({
          name: Config.string("SESSION_COOKIE_NAME"),
          secure: Config.succeed(false),
          persistent: Config.succeed(true)
        })
      }).pipe(
        Layer.provideMerge(SessionStore.layerMemory()),
        Layer.provide(Layer.setConfigProvider(provider)),
        Layer.orDie
      )
      const http = client(yield* serve(noteApp, layer))
      const cookie = (yield* http.post("/note")).setCookies[0]!
      expect(cookie).toMatch(/^app_session=/)
      expect(cookie).toContain("Max-Age=300")
      expect(cookie).not.toContain("Secure")
    }))

  it.effect("bad options are refused at start-up: no secret, a short secret, SameSite=None without Secure", () =>
    Effect.gen(function*() {
      const attempts = [
        HttpSession.layer({ secrets: [] }),
        HttpSession.layer({ secrets: [Redacted.make("short")] }),
        HttpSession.layer({ secrets: [Redacted.make("x".repeat(40))], cookie: { sameSite: "none", secure: false } })
      ]
      for (const layer of attempts) {
        const exit = yield* Effect.exit(
          Layer.build(layer).pipe(Effect.scoped, Effect.provide(SessionStore.layerMemory()))
        )
        expect(exit._tag).toBe("Failure")
      }
    }))
})
