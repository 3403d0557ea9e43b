/**
 * The HTTP tests that must hold on every store: the seed's two apps, and no lost update under
 * concurrent requests — within one process, and across two app instances sharing Redis or
 * PostgreSQL (two store instances, so two connections and two in-process lock tables: what two
 * processes see) under each conflict policy.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { HttpSession, Session, type SessionManager } from "effect-session"
import * as RedisStore from "effect-session/SessionStore/Redis"
import * as SqlStore from "effect-session/SessionStore/Sql"
import * as Example from "../examples/app.js"
import { mysqlClient, pgClient, random, REDIS_URL, storeLayers } from "./storeLayers.js"
import { client, counterApp, serve, sessionLayer } from "./utils/http.js"

const concurrentPosts = (bases: ReadonlyArray<string>, n: number) =>
  Effect.gen(function*() {
    const http = client(bases[0]!)
    yield* http.post("/counter")
    const cookie = `session=${http.jar.get("session")!}`
    const replies = yield* Effect.all(
      Array.from({ length: n }, (_, i) => client(bases[i % bases.length]!).post("/counter", { headers: { cookie } })),
      { concurrency: "unbounded" }
    )
    const final = Number((yield* http.get("/counter")).body)
    return { replies, final }
  })

for (const [name, layer] of storeLayers) {
  const store = Layer.orDie(layer)
  describe(`HTTP on the ${name} store`, () => {
    it.scopedLive("the seed's history app", () =>
      Effect.gen(function*() {
        const http = client(yield* serve(Example.app, sessionLayer(store)))
        expect((yield* http.get("/history/foo")).body).toBe("/foo")
        expect((yield* http.get("/history/bar")).body).toBe("/foo, /bar")
        expect((yield* http.get("/history/fail")).status).toBe(500)
        expect((yield* http.get("/history/baz")).body).toBe("/foo, /bar, /baz")
      }))

    it.scopedLive("the seed's transactional app", () =>
      Effect.gen(function*() {
        const http = client(yield* serve(Example.app, sessionLayer(store)))
        expect((yield* http.get("/transactional")).body).toBe("CromLech")
      }))

    it.scopedLive(
      "200 concurrent POST /counter of one session on one process end at exactly 200",
      () =>
        Effect.gen(function*() {
          const base = yield* serve(counterApp, sessionLayer(store))
          const { final, replies } = yield* concurrentPosts([base], 200)
          expect(replies.filter((r) => r.status === 200).length).toBe(200)
          expect(final).toBe(201)
        }),
      60_000
    )
  })
}

const policies: ReadonlyArray<SessionManager.ConflictPolicy> = ["fail", "retry", "merge", "merge-then-retry"]

const twoInstances = {
  redis: () => {
    const prefix = `test-${random()}:`
    return [0, 1].map(() => RedisStore.layerStore({ url: REDIS_URL, prefix }).pipe(Layer.orDie))
  },
  postgres: () => {
    const table = `sessions_${random()}`
    return [0, 1].map(() => SqlStore.layerStore({ table }).pipe(Layer.provide(pgClient), Layer.orDie))
  },
  mariadb: () => {
    const table = `sessions_${random()}`
    return [0, 1].map(() => SqlStore.layerStore({ table }).pipe(Layer.provide(mysqlClient), Layer.orDie))
  }
} as const

for (const [backend, make] of Object.entries(twoInstances)) {
  describe(`two app instances sharing ${backend}`, () => {
    for (const onConflict of policies) {
      it.scopedLive(`policy ${onConflict}: a request that got 200 is never lost`, () =>
        Effect.gen(function*() {
          const [a, b] = make()
          const bases = [
            yield* serve(counterApp, sessionLayer(a!, { onConflict, retryAttempts: 30 })),
            yield* serve(counterApp, sessionLayer(b!, { onConflict, retryAttempts: 30 }))
          ]
          const { final, replies } = yield* concurrentPosts(bases, 100)
          const ok = replies.filter((r) => r.status === 200).length
          expect(replies.every((r) => r.status === 200 || r.status === 409)).toBe(true)
          expect(final).toBe(1 + ok)
          if (onConflict === "retry" || onConflict === "merge-then-retry") expect(ok).toBe(100)
        }), 60_000)
    }

    it.scopedLive("merge: concurrent writes of different keys all survive", () =>
      Effect.gen(function*() {
        const [a, b] = make()
        const keysApp = HttpRouter.empty.pipe(
          HttpRouter.post(
            "/set/:key",
            Effect.gen(function*() {
              const { key } = yield* HttpRouter.schemaPathParams(Schema.Struct({ key: Schema.String }))
              yield* Session.set(key, true)
              return HttpServerResponse.text("ok")
            })
          ),
          HttpRouter.get(
            "/keys",
            Effect.map(Session.keys, (keys) => HttpServerResponse.text([...keys].sort().join(",")))
          ),
          HttpSession.middleware
        )
        const bases = [
          yield* serve(keysApp, sessionLayer(a!, { onConflict: "merge", retryAttempts: 30 })),
          yield* serve(keysApp, sessionLayer(b!, { onConflict: "merge", retryAttempts: 30 }))
        ]
        const http = client(bases[0]!)
        yield* http.post("/set/start")
        const cookie = `session=${http.jar.get("session")!}`
        const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`)
        const replies = yield* Effect.all(
          keys.map((key, i) => client(bases[i % 2]!).post(`/set/${key}`, { headers: { cookie } })),
          { concurrency: "unbounded" }
        )
        expect(replies.map((r) => r.status)).toEqual(keys.map(() => 200))
        expect((yield* http.get("/keys")).body).toBe([...keys, "start"].sort().join(","))
      }), 60_000)
  })
}
