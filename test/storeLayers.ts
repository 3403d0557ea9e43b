/**
 * The store layers the tests run against, one fresh store (and namespace) per build, with the hooks
 * the conformance suite needs. Shared by test/stores.test.ts and by any test that wants to run once
 * per store (`testStores`).
 *
 * Real servers: Redis on REDIS_URL (default redis://127.0.0.1:6390), a Redis Cluster on
 * REDIS_CLUSTER_NODES (default 127.0.0.1:7101-7103), PostgreSQL on DATABASE_URL (default
 * postgres://effect_session:effect_session@127.0.0.1:5439/effect_session_test), MariaDB on MYSQL_URL
 * (default mysql://effect_session:effect_session@127.0.0.1:3316/effect_session_test), as
 * `scripts/services.sh start` runs them. A missing server fails the tests that use it.
 */
import { NodeContext } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { SessionStore } from "effect-session"
import * as FileStore from "effect-session/SessionStore/FileSystem"
import * as RedisStore from "effect-session/SessionStore/Redis"
import * as SqlStore from "effect-session/SessionStore/Sql"
import { Cluster, Redis } from "ioredis"
import { sessionKey } from "../src/internal/storeRedis.js"
import type { ConformanceOptions } from "./conformance.js"

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6390"
export const REDIS_CLUSTER_NODES = (process.env.REDIS_CLUSTER_NODES ?? "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103")
  .split(",")
  .map((node) => {
    const [host, port] = node.trim().split(":")
    return { host: host!, port: Number(port) }
  })
export const DATABASE_URL = process.env.DATABASE_URL ??
  "postgres://effect_session:effect_session@127.0.0.1:5439/effect_session_test"
export const MYSQL_URL = process.env.MYSQL_URL ??
  "mysql://effect_session:effect_session@127.0.0.1:3316/effect_session_test"

export const random = () => Math.random().toString(36).slice(2, 10)
export const noPurge = { purgeInterval: Duration.infinity } as const

// ---------------------------------------------------------------------------------------------
// test layers: a fresh store (fresh namespace) per build
// ---------------------------------------------------------------------------------------------

export class TestDir extends Context.Tag("test/TestDir")<TestDir, string>() {}
export class TestTable extends Context.Tag("test/TestTable")<TestTable, string>() {}
export class TestRedis
  extends Context.Tag("test/TestRedis")<TestRedis, { readonly client: Redis | Cluster; readonly prefix: string }>()
{}

export const memoryLayer = SessionStore.layerMemory({ sweepInterval: "1 day" })

export const fileLayer = (options: Partial<FileStore.FileSystemStoreOptions> = noPurge) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* fs.makeTempDirectoryScoped({ prefix: "effect-session-test-" })
    return Layer.merge(FileStore.layerStore({ ...options, directory }), Layer.succeed(TestDir, directory))
  })).pipe(Layer.provideMerge(NodeContext.layer))

export const fileCorrupt = (id: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.writeFileString(path.join(yield* TestDir, FileStore.fileName(id)), "{\"v\":1,\"version\":")
  })

export const sqliteClient = SqliteClient.layer({ filename: ":memory:" })
export const pgClient = PgClient.layer({ url: Redacted.make(DATABASE_URL), maxConnections: 8 })
export const mysqlClient = MysqlClient.layer({ url: Redacted.make(MYSQL_URL), maxConnections: 8 })

// the store on a table of its own, dropped when the layer is released
export const sqlLayer = (
  client: Layer.Layer<SqlClient.SqlClient, unknown>,
  options: SqlStore.SqlStoreOptions = noPurge
) =>
  Layer.unwrapEffect(Effect.sync(() => {
    const table = `sessions_test_${random()}`
    const drop = Layer.scopedDiscard(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => Effect.addFinalizer(() => Effect.ignore(sql`DROP TABLE IF EXISTS ${sql(table)}`))
      )
    )
    return Layer.merge(SqlStore.layerStore({ ...options, table }), Layer.succeed(TestTable, table)).pipe(
      Layer.provideMerge(drop),
      Layer.provideMerge(client)
    )
  }))

export const sqlCorrupt = (id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE ${sql(yield* TestTable)} SET data = ${"{\"v\":1,\"data\":"} WHERE id = ${id}`
  })

export type RedisConnection = { readonly url: string } | { readonly nodes: typeof REDIS_CLUSTER_NODES }

// a raw client for the tests' own looks at the server; its release deletes the test's keys
export const rawClient = (connection: RedisConnection, prefix: string) =>
  Layer.scoped(
    TestRedis,
    Effect.acquireRelease(
      Effect.promise(async () => {
        const client = "url" in connection
          ? new Redis(connection.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
          : new Cluster(connection.nodes, { lazyConnect: true })
        client.on("error", () => {})
        await client.connect()
        return { client, prefix }
      }),
      ({ client }) =>
        Effect.promise(async () => {
          const nodes = client instanceof Cluster ? client.nodes("master") : [client]
          for (const node of nodes) {
            let cursor = "0"
            do {
              const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
              cursor = next
              for (const key of keys) await client.del(key)
            } while (cursor !== "0")
          }
          await client.quit()
        })
    )
  )

export const redisLayer = (connection: RedisConnection) =>
  Layer.unwrapEffect(Effect.sync(() => {
    const prefix = `effect-session-test:${random()}:`
    return Layer.merge(RedisStore.layerStore({ ...connection, prefix }), rawClient(connection, prefix))
  }))

export const redisCorrupt = (id: string) =>
  Effect.flatMap(
    TestRedis,
    ({ client, prefix }) => Effect.promise(() => client.hset(sessionKey(prefix, id), "r", "{\"v\":1"))
  )

export const redisTtl = (id: string) =>
  Effect.flatMap(
    TestRedis,
    ({ client, prefix }) =>
      Effect.map(Effect.promise(() => client.pttl(sessionKey(prefix, id))), (ms) =>
        ms >= 0 ? Option.some(ms) : Option.none())
  )

// the SQL store's writes join the app's `sql.withTransaction`
const sqlTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(effect))

/** One store under test: its layer (with the test's own services) and the suite's hooks. */
export interface TestStore<R = any> {
  readonly name: string
  readonly layer: Layer.Layer<SessionStore.SessionStore | R, unknown>
  readonly options: ConformanceOptions<R>
}

const testStore = <R>(
  name: string,
  layer: Layer.Layer<SessionStore.SessionStore | R, unknown>,
  options: ConformanceOptions<NoInfer<R>> = {}
): TestStore<R> => ({ name, layer, options })

/** Every store, as the conformance suite runs them. */
export const testStores: ReadonlyArray<TestStore> = [
  testStore("memory", memoryLayer, { sync: true }),
  testStore("file", fileLayer(), { corrupt: fileCorrupt }),
  testStore("sqlite", sqlLayer(sqliteClient), { corrupt: sqlCorrupt, transaction: sqlTransaction }),
  testStore("postgres", sqlLayer(pgClient), { corrupt: sqlCorrupt, transaction: sqlTransaction }),
  testStore("mariadb", sqlLayer(mysqlClient), { corrupt: sqlCorrupt, transaction: sqlTransaction }),
  testStore("redis", redisLayer({ url: REDIS_URL }), { corrupt: redisCorrupt, expiry: { ttl: redisTtl } }),
  testStore("redis cluster", redisLayer({ nodes: REDIS_CLUSTER_NODES }), {
    corrupt: redisCorrupt,
    expiry: { ttl: redisTtl }
  })
]

/** Every store as a plain `Layer<SessionStore>` (e.g. to run HTTP tests once per store). */
export const storeLayers: ReadonlyArray<
  readonly [name: string, layer: Layer.Layer<SessionStore.SessionStore, unknown>]
> = testStores.map(({ layer, name }) => [name, Layer.map(layer, Context.pick(SessionStore.SessionStore))] as const)
