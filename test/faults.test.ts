/**
 * Fault injection against real servers: the store's server is killed by pid mid-run and started
 * again. While it is down the app answers 503 on session routes (a typed SessionStoreError inside)
 * and keeps serving the rest; committed data is not lost; service resumes without a restart.
 */
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as RedisStore from "effect-session/SessionStore/Redis"
import * as SqlStore from "effect-session/SessionStore/Sql"
import { client, counterApp, serve, sessionLayer } from "./utils/http.js"
import { type OwnedServer, postgresServer, redisServer } from "./utils/servers.js"

const backends = {
  redis: {
    server: redisServer,
    store: (server: OwnedServer) =>
      RedisStore.layerStore({ url: `redis://127.0.0.1:${server.port}`, timeout: "2 seconds" })
  },
  postgres: {
    server: postgresServer,
    store: (server: OwnedServer) =>
      SqlStore.layerStore({ timeout: "2 seconds" }).pipe(
        Layer.provide(PgClient.layer({ url: Redacted.make(`postgres://postgres@127.0.0.1:${server.port}/postgres`) }))
      )
  }
} as const

for (const [name, backend] of Object.entries(backends)) {
  describe(`${name} killed and restarted mid-run`, () => {
    it.scopedLive(
      "503 while down, the rest of the app serves, nothing committed is lost, recovery without restart",
      () =>
        Effect.gen(function*() {
          const server = yield* Effect.acquireRelease(Effect.promise(backend.server), (s) => Effect.promise(s.dispose))
          const base = yield* serve(counterApp, sessionLayer(backend.store(server).pipe(Layer.orDie)))
          const http = client(base)
          expect((yield* http.post("/counter")).body).toBe("1")
          expect((yield* http.post("/counter")).body).toBe("2")

          yield* Effect.promise(server.kill)
          const down = yield* http.post("/counter")
          expect(down.status).toBe(503)
          expect((yield* http.get("/counter")).status).toBe(503)
          expect((yield* http.get("/health")).body).toBe("ok")

          yield* Effect.promise(server.start)
          // the client reconnects by itself: within a few seconds the session is back, with its data
          let reply = yield* http.post("/counter")
          for (let i = 0; i < 100 && reply.status !== 200; i++) {
            yield* Effect.sleep("100 millis")
            reply = yield* http.post("/counter")
          }
          expect(reply.status).toBe(200)
          expect(reply.body).toBe("3")
        }),
      90_000
    )
  })
}
