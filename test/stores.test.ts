/**
 * Every store against the conformance suite (test/conformance.ts), plus what is particular to each.
 * The stores and their real servers are set up in test/storeLayers.ts; a missing server fails the
 * tests, it does not skip them.
 */
import { NodeContext } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Clock,
  Config,
  ConfigError,
  ConfigProvider,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  Layer,
  Option,
  Redacted,
  Schema,
  Stream,
  TestClock
} from "effect"
import { Session, SessionStore } from "effect-session"
import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
import { type SessionOptionError, SessionStoreError } from "effect-session/SessionError"
import * as FileStore from "effect-session/SessionStore/FileSystem"
import * as RedisStore from "effect-session/SessionStore/Redis"
import * as SqlStore from "effect-session/SessionStore/Sql"
import { Cluster, Redis } from "ioredis"
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import { inspect } from "node:util"
import { makeCoalescer } from "../src/internal/storeRedis.js"
import { conformance } from "./conformance.js"
import {
  fileLayer,
  mysqlClient,
  noPurge,
  pgClient,
  random,
  REDIS_CLUSTER_NODES,
  REDIS_URL,
  redisLayer,
  sqliteClient,
  sqlLayer,
  TestDir,
  TestRedis,
  testStores,
  TestTable
} from "./storeLayers.js"
import { redisServer } from "./utils/servers.js"

/** The failure of `effect`, which must be a `SessionStoreError` (not an invalid option). */
const storeFailure = <A, R>(effect: Effect.Effect<A, SessionStoreError | SessionOptionError, R>) =>
  Effect.flatMap(
    Effect.flip(effect),
    (error) =>
      error instanceof SessionStoreError
        ? Effect.succeed(error)
        : Effect.dieMessage(`expected a SessionStoreError, got ${error._tag}`)
  )

// ---------------------------------------------------------------------------------------------
// the conformance suite, once per store
// ---------------------------------------------------------------------------------------------

for (const { layer, name, options } of testStores) conformance(name, layer, options)

// ---------------------------------------------------------------------------------------------
// invalid options: a SessionOptionError naming the option, or a ConfigError from Config
// ---------------------------------------------------------------------------------------------

describe("invalid store options", () => {
  const optionError = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.map(Effect.flip(Effect.scoped(effect)), (error) => [error._tag, "option" in error ? error.option : ""])

  it.effect("file, SQL and Redis stores fail with SessionOptionError, before any connection", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      expect(yield* optionError(FileStore.make({ directory, retainExpired: Duration.infinity }))).toEqual([
        "SessionOptionError",
        "retainExpired"
      ])
      // was a RangeError defect
      expect(yield* optionError(FileStore.make({ directory, purgeInterval: "0 millis" }))).toEqual([
        "SessionOptionError",
        "purgeInterval"
      ])
      const sqlite = Effect.provide(SqliteClient.layer({ filename: ":memory:" }))
      expect(yield* optionError(SqlStore.make({ timeout: "0 millis" })).pipe(sqlite)).toEqual([
        "SessionOptionError",
        "timeout"
      ])
      expect(yield* optionError(SqlStore.make({ purgeInterval: "soon" as Duration.DurationInput })).pipe(sqlite))
        .toEqual(["SessionOptionError", "purgeInterval"])
      // an unreachable address: the option is refused before the client is made
      expect(yield* optionError(RedisStore.make({ url: "redis://127.0.0.1:1", timeout: Duration.infinity }))).toEqual([
        "SessionOptionError",
        "timeout"
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("from Config, an invalid value is a ConfigError at the option's name", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const layer = FileStore.layerStoreConfig({
        directory: Config.succeed(directory),
        purgeInterval: Config.duration("SESSION_PURGE")
      }).pipe(Layer.provide(NodeContext.layer))
      const error = yield* Effect.flip(Layer.build(layer)).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SESSION_PURGE", "0 millis"]])))
      )
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("purgeInterval")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})

// ---------------------------------------------------------------------------------------------
// the listing capability beyond the contract: large stores, wrappers, stores without it
// ---------------------------------------------------------------------------------------------

describe("listing", () => {
  const bare: SessionStore.SessionStoreService = {
    name: "bare",
    load: () => Effect.succeed(Option.none()),
    save: () => Effect.void,
    delete: () => Effect.void,
    deleteByUser: () => Effect.succeed(0),
    purge: Effect.succeed(0)
  }

  it.effect("a store that does not declare it is refused with a SessionStoreError (operation list)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SessionStore.list(bare))
      expect(error).toBeInstanceOf(SessionStoreError)
      expect(error.operation).toBe("list")
      expect(error.store).toBe("bare")
      expect(error.message).toContain("listing")
      // a wrapper keeps what the store has: nothing here
      expect((yield* Effect.flip(SessionStore.list(SessionStore.withTimeout(bare, "1 second")))).operation).toBe("list")
    }))

  it.effect("withTimeout bounds each listing call", () =>
    Effect.gen(function*() {
      const hanging = SessionStore.withTimeout({
        ...bare,
        list: { entries: Stream.never, count: Effect.never, clear: Effect.never }
      }, "1 second")
      const listing = yield* SessionStore.list(hanging)
      const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, SessionStoreError>]> = [
        ["count", listing.count],
        ["clear", listing.clear],
        ["list", Stream.runDrain(listing.entries)]
      ]
      for (const [operation, call] of calls) {
        const fiber = yield* Effect.fork(Effect.flip(call))
        yield* TestClock.adjust("2 seconds")
        const error = yield* Fiber.join(fiber)
        expect(error).toBeInstanceOf(SessionStoreError)
        if (error instanceof SessionStoreError) expect(error.operation).toBe(operation)
      }
    }))

  const paged = testStores.filter(({ name }) => name !== "file")
  for (const { layer, name } of paged) {
    it.effect(`${name}: a store larger than a page is listed whole, each session once`, () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const listing = yield* SessionStore.list(store)
        const now = yield* Clock.currentTimeMillis
        const ids = Array.from({ length: 1_234 }, (_, i) => `page-${i}-${random()}`)
        yield* Effect.forEach(
          ids,
          (id) => store.save(id, { data: { id }, version: 1, createdAt: now, expiresAt: now + 60_000 }, 0),
          { concurrency: 16, discard: true }
        )
        expect(yield* listing.count).toBe(ids.length)
        const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(listing.entries)).map((row) =>
          Redacted.value(row.id)
        )
        expect(listed).toHaveLength(ids.length)
        expect(new Set(listed)).toEqual(new Set(ids))
        yield* listing.clear
        expect(yield* listing.count).toBe(0)
      }).pipe(Effect.provide(layer)), 60_000)
  }
})

// ---------------------------------------------------------------------------------------------
// the stored record format (every store but memory keeps records as this text)
// ---------------------------------------------------------------------------------------------

describe("stored record format", () => {
  it("encodeRecord writes exactly JSON.stringify of { v: 1, version, createdAt, expiresAt, userId?, data }", () => {
    const time = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.double())
    fc.assert(
      fc.property(
        fc.record({
          data: fc.dictionary(fc.string(), fc.jsonValue()),
          version: time,
          createdAt: time,
          expiresAt: time,
          userId: fc.option(fc.string({ unit: "binary" }), { nil: undefined })
        }),
        (record) => {
          const { createdAt, data, expiresAt, userId, version } = record
          const expected = JSON.stringify({
            v: 1,
            version,
            createdAt,
            expiresAt,
            ...(userId === undefined ? {} : { userId }),
            data
          })
          expect(SessionStore.encodeRecord(record)).toBe(expected)
        }
      ),
      { numRuns: 2000 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// file system store
// ---------------------------------------------------------------------------------------------

const now0 = (
  data: SessionStore.SessionRecord["data"],
  version: number,
  extra: Partial<SessionStore.SessionRecord> = {}
) =>
  Effect.map(Clock.currentTimeMillis, (now): SessionStore.SessionRecord => ({
    data,
    version,
    createdAt: now,
    expiresAt: now + 30 * 60_000,
    ...extra
  }))

const listDir = (directory: string) => Effect.sync(() => NodeFs.readdirSync(directory).sort())

// a directory of its own, removed with the test's scope
const tempDirectory = Effect.flatMap(
  FileSystem.FileSystem,
  (fs) => fs.makeTempDirectoryScoped({ prefix: "effect-session-test-" })
)

// waits in real time (the store does real file IO) until `check` holds
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, timeoutMillis = 5_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMillis
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error("condition not met in time"))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
  })

describe("file system store", () => {
  it.effect("names files by the SHA-256 of the id, inside the directory, with mode 0600", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const directory = yield* TestDir
      const ids = ["../../outside", "/etc/passwd", "plain-id", "nul\u0000byte"]
      for (const id of ids) yield* store.save(id, yield* now0({ id }, 1), 0)
      const names = yield* listDir(directory)
      expect(names).toEqual(ids.map(FileStore.fileName).sort())
      for (const name of names) {
        expect(name).toMatch(/^[0-9a-f]{64}\.json$/)
        expect(NodeFs.statSync(`${directory}/${name}`).mode & 0o777).toBe(0o600)
      }
      expect(NodeFs.statSync(directory).mode & 0o777).toBe(0o700)
      expect(FileStore.fileName("plain-id")).toBe(`${createHash("sha256").update("plain-id").digest("hex")}.json`)
      // a write leaves no temp file behind
      expect(names.some((name) => name.endsWith(".tmp"))).toBe(false)
    }).pipe(Effect.provide(fileLayer())))

  it.effect("a restart finds the sessions, their users and their expiry; stray temp files are removed", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* tempDirectory
      const open = FileStore.make({ directory, ...noPurge })
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open
        yield* store.save("a", yield* now0({ n: "a" }, 1, { userId: "alice" }), 0)
        yield* store.save("b", yield* now0({ n: "b" }, 1, { userId: "alice" }), 0)
        yield* store.save("c", yield* now0({ n: "c" }, 1, { expiresAt: 1 }), 0)
      }))
      const stray = `${FileStore.fileName("a").slice(0, 64)}.0123456789abcdef.tmp`
      yield* fs.writeFileString(`${directory}/${stray}`, "half a reco")
      yield* fs.writeFileString(`${directory}/${FileStore.fileName("corrupt")}`, "not json")
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open
        expect((yield* listDir(directory)).includes(stray)).toBe(false)
        expect(Option.getOrThrow(yield* store.load("a")).data).toEqual({ n: "a" })
        expect(yield* store.deleteByUser("alice")).toBe(2)
        yield* TestClock.adjust("2 hours")
        // "c" expired long ago, the corrupt file is taken as expired
        expect(yield* store.purge).toBe(2)
        expect(yield* listDir(directory)).toEqual([])
      }))
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("each file holds its id, so a restarted store lists its sessions; a file without one is counted", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* tempDirectory
      const open = FileStore.make({ directory, ...noPurge })
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open
        yield* store.save("a/../b", yield* now0({ n: "a" }, 1, { userId: "alice" }), 0)
        yield* store.save("c", yield* now0({ n: "c" }, 1), 0)
      }))
      // a file as the store wrote it before files held their id
      const old = yield* now0({ n: "old" }, 1)
      yield* fs.writeFileString(`${directory}/${FileStore.fileName("old")}`, SessionStore.encodeRecord(old))
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open
        const listing = yield* SessionStore.list(store)
        expect(yield* listing.count).toBe(3)
        const rows = Chunk.toReadonlyArray(yield* Stream.runCollect(listing.entries))
        expect(rows.map((row) => Redacted.value(row.id)).sort()).toEqual(["a/../b", "c"])
        expect(rows.find((row) => Redacted.value(row.id) === "a/../b")?.userId).toBe("alice")
        // the old file is listed once saved again
        yield* store.save("old", { ...old, version: 2 }, 1)
        expect(Chunk.size(yield* Stream.runCollect(listing.entries))).toBe(3)
        yield* listing.clear
        expect(yield* listDir(directory)).toEqual([])
      }))
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("the scheduled purge runs in the layer's scope", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const directory = yield* TestDir
      yield* store.save("short", yield* now0({}, 1, { expiresAt: 60_000 }), 0)
      yield* store.save("long", yield* now0({}, 1, { expiresAt: 10 * 3_600_000 }), 0)
      yield* TestClock.adjust("90 minutes")
      yield* eventually(Effect.map(listDir(directory), (names) => names.length === 1))
      expect(yield* listDir(directory)).toEqual([FileStore.fileName("long")])
    }).pipe(Effect.provide(fileLayer({ purgeInterval: "1 minute", retainExpired: "1 hour" }))))

  it.effect("layerStoreConfig reads its options from Config", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const layer = FileStore.layerStoreConfig({
        directory: Config.string("SESSION_DIR"),
        retainExpired: Config.duration("SESSION_RETAIN")
      }).pipe(Layer.provide(NodeContext.layer))
      yield* Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        yield* store.save("cfg", yield* now0({}, 1, { expiresAt: 0 }), 0)
        yield* TestClock.adjust("61 seconds")
        expect(yield* store.purge).toBe(1)
      }).pipe(
        Effect.provide(layer),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["SESSION_DIR", directory], ["SESSION_RETAIN", "1 minute"]]))
        )
      )
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("a directory that cannot be used fails the layer with SessionStoreError", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.makeTempFileScoped()
      const error = yield* storeFailure(Effect.scoped(FileStore.make({ directory: `${file}/sessions` })))
      expect(error).toBeInstanceOf(SessionStoreError)
      expect(error.operation).toBe("connect")
      expect(error.message).toBe("Session store \"file\" failed on connect")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})

// ---------------------------------------------------------------------------------------------
// SQL store (SQLite, PostgreSQL and MariaDB)
// ---------------------------------------------------------------------------------------------

const sqlClients: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient, unknown>]> = [
  ["sqlite", sqliteClient],
  ["postgres", pgClient],
  ["mariadb", mysqlClient]
]

for (const [name, client] of sqlClients) {
  describe(`sql store on ${name}`, () => {
    it.effect("the migration is idempotent; the store's schema is the documented one", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const table = yield* TestTable
        // a second store on the same table (another instance starting)
        const again = yield* SqlStore.make({ table, ...noPurge })
        yield* again.save("x", yield* now0({ n: 1 }, 1), 0)
        const columns = yield* sql.onDialectOrElse({
          mysql: () =>
            sql<{ readonly name: string }>`SELECT column_name AS name FROM information_schema.columns
              WHERE table_schema = DATABASE() AND table_name = ${table} ORDER BY ordinal_position`,
          pg: () =>
            sql<{ readonly name: string }>`SELECT column_name AS name FROM information_schema.columns
              WHERE table_name = ${table} ORDER BY ordinal_position`,
          orElse: () => sql<{ readonly name: string }>`SELECT name FROM pragma_table_info(${table}) ORDER BY cid`
        })
        expect(columns.map((c) => c.name)).toEqual(["id", "data", "version", "created_at", "expires_at", "user_id"])
        const dialect = sql.onDialectOrElse({ mysql: () => "mysql" as const, orElse: () => undefined })
        for (const statement of SqlStore.schema(table, dialect)) yield* sql.unsafe(statement)
        expect(Option.getOrThrow(yield* again.load("x")).data).toEqual({ n: 1 })
      }).pipe(Effect.scoped, Effect.provide(sqlLayer(client))))

    it.effect("layerStoreConfig reads its options from Config", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const table = `sessions_test_${random()}`
        yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP TABLE IF EXISTS ${sql(table)}`))
        yield* Effect.gen(function*() {
          const store = yield* SessionStore.SessionStore
          yield* store.save("cfg", yield* now0({ ok: 1 }, 1), 0)
        }).pipe(
          Effect.provide(SqlStore.layerStoreConfig({ table: Config.string("SESSION_TABLE") })),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SESSION_TABLE", table]])))
        )
        // (MySQL's VARBINARY id comes back as bytes)
        const rows = yield* sql<{ readonly id: string | Uint8Array }>`SELECT id FROM ${sql(table)}`
        expect(rows.map((r) => Buffer.from(r.id).toString())).toEqual(["cfg"])
      }).pipe(Effect.scoped, Effect.provide(client)))

    it.effect("ids and user ids are compared byte for byte: no case folding, no trailing-space padding", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        yield* store.save("abc", yield* now0({ v: "plain" }, 1, { userId: "user" }), 0)
        yield* store.save("abc ", yield* now0({ v: "space" }, 1, { userId: "user " }), 0)
        yield* store.save("ABC", yield* now0({ v: "upper" }, 1, { userId: "USER" }), 0)
        expect(Option.getOrThrow(yield* store.load("abc")).data).toEqual({ v: "plain" })
        expect(Option.getOrThrow(yield* store.load("abc ")).data).toEqual({ v: "space" })
        expect(Option.getOrThrow(yield* store.load("ABC")).data).toEqual({ v: "upper" })
        expect(Option.isNone(yield* store.load("abc  "))).toBe(true)
        expect(yield* store.deleteByUser("user")).toBe(1)
        expect(Option.isNone(yield* store.load("abc"))).toBe(true)
        expect(Option.getOrThrow(yield* store.load("abc ")).data).toEqual({ v: "space" })
        expect(Option.getOrThrow(yield* store.load("ABC")).data).toEqual({ v: "upper" })
      }).pipe(Effect.provide(sqlLayer(client))))

    it.effect("an invalid table name is a SessionStoreError", () =>
      Effect.gen(function*() {
        for (const table of ["x; DROP TABLE y", "a.b", "", "1abc", "a".repeat(49)]) {
          const error = yield* storeFailure(Effect.scoped(SqlStore.make({ table })))
          expect(error.operation).toBe("connect")
        }
        expect(() => SqlStore.schema("bad name")).toThrow(RangeError)
      }).pipe(Effect.provide(client)))

    it.effect("the session commit joins the app's sql.withTransaction: both commit or roll back together", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* SessionStore.SessionStore
        const orders = `orders_test_${random()}`
        yield* sql`CREATE TABLE ${sql(orders)} (id VARCHAR(64) PRIMARY KEY)`
        yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP TABLE IF EXISTS ${sql(orders)}`))
        const Cart = Session.key("cart", Schema.Array(Schema.String))
        const order = (orderId: string) =>
          Effect.gen(function*() {
            yield* sql`INSERT INTO ${sql(orders)} (id) VALUES (${orderId})`
            yield* Session.set(Cart, [orderId])
          }).pipe(Session.transaction)
        const count = Effect.map(
          sql<{ readonly n: number }>`SELECT COUNT(*) AS n FROM ${sql(orders)}`,
          (rows) => Number(rows[0]!.n)
        )
        const open = Session.open("buyer")

        // success: the order and the session are both there
        yield* sql.withTransaction(order("o1")).pipe(Effect.provide(open))
        expect(yield* count).toBe(1)
        expect(Option.getOrThrow(yield* store.load("buyer")).data).toEqual({ cart: ["o1"] })

        // the app fails after the unit committed, inside the transaction: both roll back
        const failed = yield* sql.withTransaction(Effect.zipRight(order("o2"), Effect.fail("payment declined"))).pipe(
          Effect.provide(open),
          Effect.exit
        )
        expect(Exit.isFailure(failed)).toBe(true)
        expect(yield* count).toBe(1)
        const after = Option.getOrThrow(yield* store.load("buyer"))
        expect(after.data).toEqual({ cart: ["o1"] })
        expect(after.version).toBe(1)

        // a session conflict at commit (another writer changed the same key meanwhile) rolls the app's rows
        // back too
        const conflicted = yield* sql.withTransaction(
          Effect.gen(function*() {
            yield* sql`INSERT INTO ${sql(orders)} (id) VALUES (${"o3"})`
            yield* Session.set(Cart, ["o3"])
            yield* store.save("buyer", { ...after, data: { cart: ["elsewhere"] }, version: 2 }, 1)
          }).pipe(Session.transaction)
        ).pipe(Effect.provide(open), Effect.flip)
        expect(conflicted._tag).toBe("SessionConflict")
        expect(yield* count).toBe(1)
        expect(Option.getOrThrow(yield* store.load("buyer")).data).toEqual({ cart: ["o1"] })
      }).pipe(Effect.scoped, Effect.provide(sqlLayer(client))))

    // SQLite runs the store's calls on the client's one connection, reserved per call (storeSql.ts, makeRun):
    // a call from outside the app's open transaction waits for it there instead of joining it
    it.effect("a call from outside the app's open transaction does not join it: the rollback leaves it", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* SessionStore.SessionStore
        const record = yield* now0({ n: 1 }, 1)
        expect(Option.isNone(yield* store.load("outside"))).toBe(true)
        const inside = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const transaction = yield* Effect.fork(Effect.exit(sql.withTransaction(Effect.gen(function*() {
          yield* store.save("joined", record, 0)
          yield* Deferred.succeed(inside, undefined)
          yield* Deferred.await(release)
          return yield* Effect.fail("rolled back")
        }))))
        yield* Deferred.await(inside)
        const outside = yield* Effect.fork(store.save("outside", record, 0))
        yield* Deferred.succeed(release, undefined)
        expect(Exit.isFailure(yield* Fiber.join(transaction))).toBe(true)
        yield* Fiber.join(outside)
        expect(Option.isNone(yield* store.load("joined"))).toBe(true)
        expect(Option.getOrThrow(yield* store.load("outside")).data).toEqual({ n: 1 })
      }).pipe(Effect.provide(sqlLayer(client))))

    it.effect("a driver failure is a SessionStoreError naming the store and operation, never the id", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* SessionStore.SessionStore
        yield* sql`DROP TABLE ${sql(yield* TestTable)}`
        const id = "secret-session-id"
        for (
          const error of [
            yield* Effect.flip(store.load(id)),
            yield* Effect.flip(store.save(id, yield* now0({ secret: "data" }, 1), 0)),
            yield* Effect.flip(store.delete(id)),
            yield* Effect.flip(store.deleteByUser("secret-user")),
            yield* Effect.flip(store.purge)
          ]
        ) {
          expect(error._tag).toBe("SessionStoreError")
          expect(error.message).toMatch(/^Session store "sql" failed on \w+$/)
          expect(error.message).not.toContain("secret")
        }
      }).pipe(Effect.provide(sqlLayer(client))))
  })
}

describe("sql store on mariadb", () => {
  it.effect("the MySQL schema: VARBINARY ids, LONGTEXT utf8mb4 data, BIGINT times, both indexes", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const table = yield* TestTable
      const columns = yield* sql<{ readonly name: string; readonly type: string; readonly charset: string | null }>`
        SELECT column_name AS name, column_type AS type, character_set_name AS charset
        FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ${table}
        ORDER BY ordinal_position`
      expect(columns.map(({ charset, name, type }) => [name, type, charset])).toEqual([
        ["id", "varbinary(1024)", null],
        ["data", "longtext", "utf8mb4"],
        ["version", "int(11)", null],
        ["created_at", "bigint(20)", null],
        ["expires_at", "bigint(20)", null],
        ["user_id", "varbinary(1024)", null]
      ])
      const indexes = yield* sql<{ readonly name: string; readonly column: string }>`
        SELECT index_name AS name, column_name AS \`column\` FROM information_schema.statistics
        WHERE table_schema = DATABASE() AND table_name = ${table} ORDER BY index_name`
      expect(indexes.map(({ column, name }) => [name, column])).toEqual([
        ["PRIMARY", "id"],
        [`${table}_expires_at_idx`, "expires_at"],
        [`${table}_user_id_idx`, "user_id"]
      ])
    }).pipe(Effect.provide(sqlLayer(mysqlClient))))

  it.effect("an id or user id longer than its column is a SessionStoreError at save, never a cut key", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const longest = "\u00e9".repeat(512) // 1024 bytes of UTF-8
      yield* store.save(longest, yield* now0({ fits: true }, 1, { userId: longest }), 0)
      expect(Option.getOrThrow(yield* store.load(longest)).data).toEqual({ fits: true })
      expect(Option.isNone(yield* store.load(`${longest}x`))).toBe(true)
      for (
        const [id, userId] of [[`${longest}x`, undefined], ["short", `${longest}x`], ["x".repeat(5000), undefined]]
      ) {
        const error = yield* Effect.flip(
          store.save(id!, yield* now0({ n: 1 }, 1, userId === undefined ? {} : { userId }), 0)
        )
        expect(error._tag).toBe("SessionStoreError")
        expect(error.message).toBe(
          "Session store \"sql\" failed on save: ids and user ids longer than 1024 bytes do not fit the MySQL table"
        )
      }
      expect(Option.isNone(yield* store.load("short"))).toBe(true)
      expect(yield* store.deleteByUser(longest)).toBe(1)
    }).pipe(Effect.provide(sqlLayer(mysqlClient))))

  it.effect("a first save of a taken id is a SessionConflict, also inside the app's transaction", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* SessionStore.SessionStore
      yield* store.save("taken", yield* now0({ first: true }, 1), 0)
      const conflict = yield* Effect.flip(store.save("taken", yield* now0({ second: true }, 1), 0))
      expect(conflict._tag).toBe("SessionConflict")
      // MySQL keeps a transaction going after a failed statement: the app may go on and commit
      yield* sql.withTransaction(Effect.gen(function*() {
        const inner = yield* Effect.flip(store.save("taken", yield* now0({ third: true }, 1), 0))
        expect(inner._tag).toBe("SessionConflict")
        yield* store.save("taken", yield* now0({ updated: true }, 2), 1)
      }))
      const loaded = Option.getOrThrow(yield* store.load("taken"))
      expect(loaded.data).toEqual({ updated: true })
      expect(loaded.version).toBe(2)
    }).pipe(Effect.provide(sqlLayer(mysqlClient))))
})

// ---------------------------------------------------------------------------------------------
// Redis store
// ---------------------------------------------------------------------------------------------

describe("redis store", () => {
  it.effect("keys are <prefix>s:{id}, hash-tagged by the id; a user's index is its own key", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const { client, prefix } = yield* TestRedis
      yield* store.save("abc", yield* now0({ n: 1 }, 1, { userId: "alice" }), 0)
      expect(yield* Effect.promise(() => client.hgetall(`${prefix}s:{abc}`))).toMatchObject({ v: "1", u: "alice" })
      expect(yield* Effect.promise(() => client.zrange(`${prefix}u:{alice}`, 0, -1))).toEqual(["abc"])
      expect(yield* Effect.promise(() => client.pttl(`${prefix}u:{alice}`))).toBeGreaterThan(0)
    }).pipe(Effect.provide(redisLayer({ url: REDIS_URL }))))

  it.effect("a driver error that holds the command shows only its kind in a logged, printed or JSON store error", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const { client, prefix } = yield* TestRedis
      // the session's key holds a string, not a hash: Redis answers WRONGTYPE, and ioredis keeps
      // the failed command's keys and arguments on its error
      yield* Effect.promise(() => client.set(`${prefix}s:{leaky-id}`, "not a hash"))
      const errors = [
        yield* Effect.flip(store.load("leaky-id")),
        yield* Effect.flip(store.save("leaky-id", yield* now0({ secret: "leaky-data" }, 1), 0))
      ]
      for (const error of errors) {
        expect(error._tag).toBe("SessionStoreError")
        expect(JSON.stringify(error.cause)).toContain("leaky-id") // the driver's error does hold it
        for (
          const view of [
            JSON.stringify(error),
            inspect(error, { depth: 10 }),
            String(error),
            Cause.pretty(Cause.fail(error))
          ]
        ) {
          expect(view).not.toContain("leaky-id")
          expect(view).not.toContain("leaky-data")
        }
        expect(JSON.stringify(error)).toContain("ReplyError") // the kind of failure stays visible
      }
    }).pipe(Effect.provide(redisLayer({ url: REDIS_URL }))))

  it.effect("two prefixes are two stores on one server", () =>
    Effect.gen(function*() {
      const prefix = `effect-session-test:${random()}:`
      const [one, two] = yield* Effect.all([
        RedisStore.make({ url: REDIS_URL, prefix: `${prefix}one:` }),
        RedisStore.make({ url: REDIS_URL, prefix: `${prefix}two:` })
      ])
      yield* one.save("same", yield* now0({ store: "one" }, 1), 0)
      expect(Option.isNone(yield* two.load("same"))).toBe(true)
      yield* two.save("same", yield* now0({ store: "two" }, 1), 0)
      expect(Option.getOrThrow(yield* one.load("same")).data).toEqual({ store: "one" })
      yield* one.delete("same")
      yield* two.delete("same")
    }).pipe(Effect.scoped))

  for (
    const [name, connection] of [
      ["server", { url: "redis://127.0.0.1:1" }],
      ["cluster", { nodes: [{ host: "127.0.0.1", port: 1 }] }]
    ] as const
  ) {
    it.effect(`a ${name} that cannot be reached fails the layer with SessionStoreError`, () =>
      Effect.gen(function*() {
        const error = yield* storeFailure(Effect.scoped(RedisStore.make(connection)))
        expect(error).toBeInstanceOf(SessionStoreError)
        expect(error.operation).toBe("connect")
        expect(error.message).toBe("Session store \"redis\" failed on connect")
      }))
  }

  it.effect("an outage fails commands at once with SessionStoreError; the client reconnects", () =>
    Effect.gen(function*() {
      const client = new Redis(REDIS_URL, RedisStore.clientDefaults)
      yield* Effect.promise(() => client.connect())
      yield* Effect.addFinalizer(() => Effect.promise(() => client.quit()))
      const store = yield* RedisStore.make({ client, prefix: `effect-session-test:${random()}:` })
      yield* store.save("x", yield* now0({ n: 1 }, 1), 0)
      client.disconnect(true) // the connection drops; ioredis reconnects by itself
      const error = yield* Effect.flip(store.load("x"))
      expect(error._tag).toBe("SessionStoreError")
      expect(error.message).toBe("Session store \"redis\" failed on load")
      yield* eventually(Effect.map(Effect.either(store.load("x")), Either.isRight))
      expect(Option.getOrThrow(yield* store.load("x")).data).toEqual({ n: 1 })
      yield* store.delete("x")
      // the app's client is the app's: the store's scope does not close it
      expect(client.status).toBe("ready")
    }).pipe(Effect.scoped))

  for (
    const [name, connection] of [["server", { url: REDIS_URL }], ["cluster", { nodes: REDIS_CLUSTER_NODES }]] as const
  ) {
    it.effect(`${name}: scripts the server lost (SCRIPT FLUSH, a restart) are sent again in full`, () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const { client } = yield* TestRedis
        const flush = Effect.promise(() =>
          client instanceof Cluster
            ? Promise.all(client.nodes("master").map((node) => node.script("FLUSH")))
            : client.script("FLUSH")
        )
        yield* store.save("s", yield* now0({ n: 1 }, 1), 0)
        yield* flush
        yield* store.save("s", yield* now0({ n: 2 }, 2, { userId: "bob" }), 1)
        expect(Option.getOrThrow(yield* store.load("s"))).toMatchObject({ data: { n: 2 }, version: 2, userId: "bob" })
        // the compare-and-set still holds: NOSCRIPT means the script did not run, and it runs once
        yield* flush
        const conflict = yield* Effect.flip(store.save("s", yield* now0({ n: 3 }, 2), 1))
        expect(conflict._tag).toBe("SessionConflict")
        expect(Option.getOrThrow(yield* store.load("s")).version).toBe(2)
        yield* flush
        expect(yield* store.deleteByUser("bob")).toBe(1)
        expect(Option.isNone(yield* store.load("s"))).toBe(true)
      }).pipe(Effect.provide(redisLayer(connection))))
  }

  it.live("a server that stops answering fails each call with SessionStoreError after the timeout; it recovers", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.promise(redisServer),
        (server) =>
          Effect.promise(() => {
            const pid = server.pid()
            if (pid !== undefined) process.kill(pid, "SIGCONT")
            return server.dispose()
          })
      )
      const store = yield* RedisStore.make({ url: `redis://127.0.0.1:${server.port}`, timeout: "300 millis" })
      yield* store.save("x", yield* now0({ n: 1 }, 1), 0)
      process.kill(server.pid()!, "SIGSTOP")
      const load = yield* Effect.flip(store.load("x"))
      expect(load).toBeInstanceOf(SessionStoreError)
      expect(load.message).toBe("Session store \"redis\" failed on load")
      const save = yield* Effect.flip(store.save("x", yield* now0({ n: 2 }, 2), 1))
      expect(save._tag).toBe("SessionStoreError")
      process.kill(server.pid()!, "SIGCONT")
      // the same connection answers again (replies to the abandoned commands are matched and dropped)
      expect(Either.isRight(yield* Effect.either(store.load("x")))).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("layerStoreConfig reads a url or cluster nodes from Config", () =>
    Effect.gen(function*() {
      const roundTrip = Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        yield* store.save("cfg", yield* now0({ ok: true }, 1), 0)
        expect(Option.getOrThrow(yield* store.load("cfg")).data).toEqual({ ok: true })
        yield* store.delete("cfg")
      })
      const prefixConfig = Config.string("PREFIX")
      yield* roundTrip.pipe(
        Effect.provide(RedisStore.layerStoreConfig({ url: Config.redacted("REDIS_URL"), prefix: prefixConfig }))
      )
      yield* roundTrip.pipe(
        Effect.provide(
          RedisStore.layerStoreConfig({ nodes: Config.array(Config.string(), "REDIS_NODES"), prefix: prefixConfig })
        )
      )
    }).pipe(Effect.withConfigProvider(
      ConfigProvider.fromMap(
        new Map([
          ["REDIS_URL", REDIS_URL],
          ["REDIS_NODES", REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(",")],
          ["PREFIX", `effect-session-test:${random()}:`]
        ])
      )
    )))

  it.live("writes are coalesced while commands are in flight or after several replies in one turn", () =>
    Effect.gen(function*() {
      let corks = 0
      const coalescer = makeCoalescer(() => corks++)
      const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      // alone on the wire: out at once
      coalescer.sending()
      expect(corks).toBe(0)
      // sent while another is in flight: held back
      coalescer.sending()
      expect(corks).toBe(1)
      coalescer.answered()
      coalescer.answered()
      // both replies came back in this turn: the next commands they lead to are held back too
      coalescer.sending()
      expect(corks).toBe(2)
      coalescer.answered()
      yield* nextTurn
      // a new turn, nothing in flight: out at once again
      coalescer.sending()
      expect(corks).toBe(2)
      coalescer.answered()
      // one reply in a turn (the requests of one session, one at a time): the next leaves at once
      coalescer.sending()
      expect(corks).toBe(2)
    }))

  it.effect("exactly one of url, nodes and client", () =>
    Effect.gen(function*() {
      const none = yield* storeFailure(Effect.scoped(RedisStore.make({})))
      expect(none.operation).toBe("connect")
      const both = yield* storeFailure(Effect.scoped(RedisStore.make({ url: REDIS_URL, nodes: REDIS_CLUSTER_NODES })))
      expect(both.operation).toBe("connect")
    }))
})

// ---------------------------------------------------------------------------------------------
// sealed cookie
// ---------------------------------------------------------------------------------------------

describe("sealed cookie", () => {
  const oldSecret = Redacted.make("the old secret, long enough: 0123456789")
  const newSecret = Redacted.make("the new secret, long enough: 9876543210")
  const sample: SessionStore.SessionRecord = {
    data: { theme: "dark", "ключ": "🙂", list: [1, 2, 3] },
    version: 3,
    createdAt: 1_000,
    expiresAt: 1_000 + 30 * 60_000,
    userId: "alice"
  }

  it("seals and unseals a record; every seal differs; the payload is not readable", () => {
    const one = Either.getOrThrow(SealedCookie.seal(sample, [newSecret]))
    const two = Either.getOrThrow(SealedCookie.seal(sample, [newSecret]))
    expect(one).not.toBe(two)
    expect(one).toMatch(/^v1\.[A-Za-z0-9_-]+$/)
    expect(Buffer.from(one.slice(3), "base64url").toString("latin1")).not.toContain("dark")
    expect(SealedCookie.unseal(one, [newSecret], 2_000)).toEqual(Option.some(sample))
    expect(SealedCookie.unseal(two, [newSecret], 2_000)).toEqual(Option.some(sample))
  })

  it("anything changed, truncated or made up is none", () => {
    const sealed = Either.getOrThrow(SealedCookie.seal(sample, [newSecret]))
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1)
    for (const i of [3, 10, 30, 40, sealed.length - 5, sealed.length - 1]) {
      expect(Option.isNone(SealedCookie.unseal(flip(sealed, i), [newSecret], 2_000))).toBe(true)
    }
    for (const bad of ["", "v1.", "v1.!!!", "v2." + sealed.slice(3), sealed.slice(0, -10), sealed + "AA", "garbage"]) {
      expect(Option.isNone(SealedCookie.unseal(bad, [newSecret], 2_000))).toBe(true)
    }
  })

  it("rotation: the first secret seals, every secret opens", () => {
    const sealedOld = Either.getOrThrow(SealedCookie.seal(sample, [oldSecret]))
    const rotated = [newSecret, oldSecret]
    expect(Option.isSome(SealedCookie.unseal(sealedOld, rotated, 2_000))).toBe(true)
    const sealedNew = Either.getOrThrow(SealedCookie.seal(sample, rotated))
    expect(Option.isSome(SealedCookie.unseal(sealedNew, [newSecret], 2_000))).toBe(true)
    expect(Option.isNone(SealedCookie.unseal(sealedNew, [oldSecret], 2_000))).toBe(true)
    // once the old secret is dropped, what it sealed no longer opens
    expect(Option.isNone(SealedCookie.unseal(sealedOld, [newSecret], 2_000))).toBe(true)
  })

  it("the expiry is inside the seal: an expired record opens for the retention, then not", () => {
    const sealed = Either.getOrThrow(SealedCookie.seal(sample, [newSecret]))
    const expired = sample.expiresAt + 1
    expect(Option.isSome(SealedCookie.unseal(sealed, [newSecret], expired))).toBe(true)
    expect(Option.isNone(SealedCookie.unseal(sealed, [newSecret], sample.expiresAt + 3_600_000))).toBe(true)
    expect(Option.isNone(SealedCookie.unseal(sealed, [newSecret], expired, { retainExpired: 0 }))).toBe(true)
  })

  it("a context binds the seal (e.g. to the cookie name)", () => {
    const sealed = Either.getOrThrow(SealedCookie.seal(sample, [newSecret], { context: "sid" }))
    expect(Option.isSome(SealedCookie.unseal(sealed, [newSecret], 2_000, { context: "sid" }))).toBe(true)
    expect(Option.isNone(SealedCookie.unseal(sealed, [newSecret], 2_000, { context: "other" }))).toBe(true)
    expect(Option.isNone(SealedCookie.unseal(sealed, [newSecret], 2_000))).toBe(true)
  })

  it("over the size limit is a SessionStoreError whose cause is SealedCookieTooLarge", () => {
    const big = { ...sample, data: { blob: "x".repeat(4_000) } }
    const error = Either.getLeft(SealedCookie.seal(big, [newSecret])).pipe(Option.getOrThrow)
    expect(error).toBeInstanceOf(SessionStoreError)
    expect(error.operation).toBe("save")
    expect(error.cause).toBeInstanceOf(SealedCookie.SealedCookieTooLarge)
    expect(error.message).not.toContain("xxxx")
    const fits = { ...sample, data: { blob: "x".repeat(2_900) } }
    expect(Either.getOrThrow(SealedCookie.seal(fits, [newSecret])).length).toBeLessThanOrEqual(4096)
    expect(Either.isLeft(SealedCookie.seal(fits, [newSecret], { maxLength: 1_000 }))).toBe(true)
  })

  it("short or missing secrets are refused", () => {
    expect(Either.isLeft(SealedCookie.seal(sample, []))).toBe(true)
    expect(Either.isLeft(SealedCookie.seal(sample, [Redacted.make("too short")]))).toBe(true)
    const sealed = Either.getOrThrow(SealedCookie.seal(sample, [newSecret]))
    expect(Option.isNone(SealedCookie.unseal(sealed, [], 2_000))).toBe(true)
  })
})
