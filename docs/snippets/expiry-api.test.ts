/**
 * Runs docs/snippets/expiry-api.ts (docs/expiry.md, "Expiry in HttpApi") over HTTP, under TestClock.
 */
import { HttpApiBuilder, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { HttpSession, SessionStore } from "effect-session"
import { ApiLive, SessionExpired } from "./expiry-api.js"

const ServerTest = HttpApiBuilder.serve().pipe(
  Layer.provide(ApiLive),
  Layer.provide(
    HttpSession.layer({
      secrets: [Redacted.make("a test secret: 32 bytes or more, not a real one")],
      cookie: { secure: false },
      idleTimeout: "30 minutes"
    }).pipe(Layer.provide(SessionStore.layerMemory()))
  ),
  Layer.provideMerge(NodeHttpServer.layerTest)
)

const login = (client: HttpClient.HttpClient) =>
  Effect.gen(function*() {
    const response = yield* client.execute(
      HttpClientRequest.post("/login").pipe(HttpClientRequest.bodyUnsafeJson({ user: "alice" }))
    )
    expect(response.status).toBe(204)
    const setCookie = response.headers["set-cookie"]
    const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(";")[0]
    expect(cookie).toMatch(/^session=./)
    return cookie!
  })

const me = (client: HttpClient.HttpClient, cookie: string) =>
  client.execute(HttpClientRequest.get("/me").pipe(HttpClientRequest.setHeader("cookie", cookie)))

describe("expiry in HttpApi", () => {
  it.scoped("a session idle for 31 minutes answers the declared SessionExpired (401, Idle), once", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const cookie = yield* login(client)

      const fresh = yield* me(client, cookie)
      expect(fresh.status).toBe(200)
      expect(yield* fresh.json).toBe("alice")

      yield* TestClock.adjust("31 minutes")
      const expired = yield* me(client, cookie)
      expect(expired.status).toBe(401)
      const body = yield* HttpClientResponse.schemaBodyJson(SessionExpired)(expired)
      expect(body.reason).toBe("Idle")

      // reported once: the expired record is gone, the old cookie is now just unknown
      const again = yield* me(client, cookie)
      expect(again.status).toBe(401) // Unauthorized: no user in the fresh session
      expect(yield* again.text).not.toContain("SessionExpired")
    }).pipe(Effect.provide(ServerTest)))

  it.scoped("a session used within the idle timeout does not expire", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const cookie = yield* login(client)
      yield* TestClock.adjust("29 minutes")
      const response = yield* me(client, cookie)
      expect(response.status).toBe(200)
      expect(yield* response.json).toBe("alice")
    }).pipe(Effect.provide(ServerTest)))
})
