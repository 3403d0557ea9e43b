/**
 * Effect servers for the benchmark: one process per configuration, chosen by the first argument.
 *
 * - `bare`: `@effect/platform-node` router, no session (the limit), default tracing.
 * - `bare-notrace`: the same with `Layer.setTracerEnabled(false)`.
 * - `floor`: the same routes under the least session layer Effect's services allow (`floorRouter`,
 *   request-keyed: nothing provided per request): what any session service costs before it does
 *   anything of its own; `floor-redis`
 *   the same with the count in Redis (one GET and one SET per counter request).
 * - `memory`, `memory-notrace`, `sqlite`, `redis`: the same routes under `HttpSession.middleware`.
 *
 * Routes: bench/servers/routes.ts. Listens on 127.0.0.1, port 0, and prints
 * `LISTENING <port>` once it does.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { createServer } from "node:http"
import * as HttpSession from "../../src/HttpSession.js"
import * as SessionStore from "../../src/SessionStore.js"
import { setSessionCounter } from "./inspect.js"
import { bareRouter, floorLayer, floorRedisRouter, floorRouter, sessionRouter } from "./routes.js"

const mode = process.argv[2] ?? "bare"
const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6390"
const secret = Redacted.make("benchmark secret: thirty-two bytes or more, fixed")

// the memory store as SessionStore.layerMemory makes it, kept at hand to count its sessions
// (bench:memory); room for a million, so that nothing is evicted during a run
const memoryStore = () =>
  Layer.scoped(
    SessionStore.SessionStore,
    Effect.tap(SessionStore.makeMemory({ maxEntries: 1_000_000 }), (store) =>
      Effect.sync(() => setSessionCounter(store.size)))
  )

/** The store of each session configuration; SQL and Redis are imported only when chosen. */
const stores: Record<string, () => Layer.Layer<SessionStore.SessionStore, unknown>> = {
  memory: memoryStore,
  "memory-notrace": memoryStore,
  sqlite: () =>
    Layer.unwrapEffect(Effect.promise(async () => {
      const { SqliteClient } = await import("@effect/sql-sqlite-node")
      const SqlStore = await import("../../src/SessionStore/Sql.js")
      const filename = process.env.BENCH_SQLITE_FILE ?? ":memory:"
      return SqlStore.layerStore().pipe(Layer.provide(SqliteClient.layer({ filename })))
    })),
  redis: () =>
    Layer.unwrapEffect(Effect.promise(async () => {
      const RedisStore = await import("../../src/SessionStore/Redis.js")
      return RedisStore.layerStore({ url: redisUrl, prefix: `bench:${process.pid}:` })
    }))
}

const listening = Layer.effectDiscard(
  HttpServer.addressWith((address) =>
    Effect.sync(() => {
      if (address._tag === "TcpAddress") console.log(`LISTENING ${address.port}`)
    })
  )
)

const serverLayer = NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })

const main = (() => {
  if (mode === "bare" || mode === "bare-notrace") {
    const served = Layer.merge(HttpServer.serve(bareRouter), listening).pipe(Layer.provide(serverLayer))
    return mode === "bare" ? served : Layer.provide(served, Layer.setTracerEnabled(false))
  }
  if (mode === "floor") {
    return Layer.merge(HttpServer.serve(floorRouter), listening).pipe(
      Layer.provide(serverLayer),
      Layer.provide(floorLayer)
    )
  }
  if (mode === "floor-redis") {
    const redis = Layer.unwrapScoped(Effect.map(
      Effect.acquireRelease(
        Effect.promise(async () => {
          const { Redis } = await import("ioredis")
          return new Redis(redisUrl)
        }),
        (client) => Effect.promise(() => client.quit())
      ),
      (client) => HttpServer.serve(floorRedisRouter(client))
    ))
    return Layer.merge(redis, listening).pipe(Layer.provide(serverLayer), Layer.provide(floorLayer))
  }
  const store = stores[mode]
  if (store === undefined) throw new Error(`unknown configuration: ${mode}`)
  const session = HttpSession.layer({ secrets: [secret], cookie: { secure: false } }).pipe(
    Layer.provide(store())
  )
  const served = Layer.merge(HttpServer.serve(sessionRouter), listening).pipe(
    Layer.provide(serverLayer),
    Layer.provide(session)
  )
  return mode.endsWith("-notrace") ? Layer.provide(served, Layer.setTracerEnabled(false)) : served
})()

NodeRuntime.runMain(Layer.launch(main as Layer.Layer<never, unknown, never>), { disableErrorReporting: false })
