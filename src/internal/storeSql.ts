import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { SessionConflict, type SessionOptionError, SessionStoreError } from "../SessionError.js"
import type { Listing, SessionRecord, SessionStore, SessionStoreService } from "../SessionStore.js"
import type { SqlStoreDialect, SqlStoreOptions } from "../SessionStore/Sql.js"
import { decodeRecord, encodeRecord } from "./record.js"
import { optionsFromConfig, retainOption, schedulePurge, storeError, timeoutOption } from "./storeCommon.js"
import { summary } from "./storeList.js"
import { sessionStoreTag } from "./storeTag.js"
import { withTimeout } from "./storeTimeout.js"

const STORE = "sql"

/** @internal */
export const defaultTable = "effect_sessions"

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/

/** @internal */
export const isValidTableName = (name: string): boolean => TABLE_NAME.test(name)

/**
 * The schema the store creates, as SQL text (for the README and for apps that manage their schema
 * themselves).
 *
 * @internal
 */
export const schema = (table: string = defaultTable, dialect: SqlStoreDialect = "pg"): ReadonlyArray<string> => {
  if (!isValidTableName(table)) throw new RangeError("effect-session: invalid SQL store table name")
  if (dialect === "mysql") return schemaMysql(table)
  const q = (name: string) => `"${name}"`
  return [
    `CREATE TABLE IF NOT EXISTS ${q(table)} (
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  user_id TEXT
)`,
    `CREATE INDEX IF NOT EXISTS ${q(`${table}_expires_at_idx`)} ON ${q(table)} (expires_at)`,
    `CREATE INDEX IF NOT EXISTS ${q(`${table}_user_id_idx`)} ON ${q(table)} (user_id)`
  ]
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB: the schema and the statements that differ (no `RETURNING` on MySQL, no
// `ON CONFLICT`, no `CREATE INDEX IF NOT EXISTS`; backquoted names)
// ---------------------------------------------------------------------------------------------

/**
 * The longest id and user id the MySQL columns hold, in UTF-8 bytes (an InnoDB key holds at most
 * 3072 bytes).
 *
 * @internal
 */
export const mysqlMaxIdBytes = 1024

// ids and user ids are VARBINARY: compared byte for byte, as on the other stores. A text column would
// take the collation's rules (case folding, trailing spaces ignored by PAD SPACE collations), so that
// "abc" could load "ABC " and two ids could collide on the primary key.
const schemaMysql = (table: string): ReadonlyArray<string> => {
  const q = (name: string) => `\`${name}\``
  return [
    `CREATE TABLE IF NOT EXISTS ${q(table)} (
  id VARBINARY(${mysqlMaxIdBytes}) NOT NULL PRIMARY KEY,
  data LONGTEXT CHARACTER SET utf8mb4 NOT NULL,
  version INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  user_id VARBINARY(${mysqlMaxIdBytes}),
  INDEX ${q(`${table}_expires_at_idx`)} (expires_at),
  INDEX ${q(`${table}_user_id_idx`)} (user_id)
)`
  ]
}

const utf8Bytes = (text: string): number =>
  // a UTF-16 code unit is at most 3 UTF-8 bytes: only long strings need counting
  text.length * 3 <= mysqlMaxIdBytes ? text.length : new TextEncoder().encode(text).byteLength

/** MySQL's "duplicate entry" (ER_DUP_ENTRY): a first save found the id taken. */
const isDuplicateKey = (error: SqlError): boolean =>
  typeof error.cause === "object" && error.cause !== null && "errno" in error.cause && error.cause.errno === 1062

/** The rows a statement changed, from the driver's result header. */
const affectedRows = (result: unknown): number =>
  typeof result === "object" && result !== null && "affectedRows" in result &&
    typeof result.affectedRows === "number"
    ? result.affectedRows
    : 0

/**
 * The rows an UPDATE matched, from the driver's result header. mysql2 connects with FOUND_ROWS, so
 * `affectedRows` counts matched rows; the server's "Rows matched: n" note says the same without it.
 */
const matchedRows = (result: unknown): number => {
  const matched = typeof result === "object" && result !== null && "info" in result && typeof result.info === "string"
    ? /Rows matched: (\d+)/.exec(result.info)
    : null
  return matched !== null ? Number(matched[1]) : affectedRows(result)
}

/**
 * The operations whose statements differ on MySQL / MariaDB (no RETURNING on MySQL, no ON CONFLICT).
 * A first save is a plain INSERT, whose duplicate-key error is the conflict (on MySQL a failed
 * statement does not abort the app's transaction); a later save is an UPDATE whose matched-row count
 * says whether the version still held; DELETEs count their rows from the result header.
 */
const makeMysqlOperations = (
  sql: SqlClient.SqlClient,
  t: Statement.Identifier,
  retain: number
): Pick<SessionStoreService, "save" | "delete" | "purge" | "deleteByUser"> => ({
  save: (id, record, expectedVersion) =>
    Effect.gen(function*() {
      const data = yield* Effect.try({ try: () => encodeRecord(record), catch: storeError(STORE, "save") })
      const userId = record.userId ?? null
      if (utf8Bytes(id) > mysqlMaxIdBytes || (userId !== null && utf8Bytes(userId) > mysqlMaxIdBytes)) {
        return yield* new SessionStoreError({
          store: STORE,
          operation: "save",
          detail: `ids and user ids longer than ${mysqlMaxIdBytes} bytes do not fit the MySQL table`
        })
      }
      const saved = yield* Effect.mapError(
        expectedVersion === 0
          ? sql`INSERT INTO ${t} (id, data, version, created_at, expires_at, user_id)
              VALUES (${id}, ${data}, ${record.version}, ${record.createdAt}, ${record.expiresAt}, ${userId})`
            .raw.pipe(Effect.as(true), Effect.catchIf(isDuplicateKey, () => Effect.succeed(false)))
          : Effect.map(
            sql`UPDATE ${t} SET data = ${data}, version = ${record.version}, created_at = ${record.createdAt},
              expires_at = ${record.expiresAt}, user_id = ${userId}
              WHERE id = ${id} AND version = ${expectedVersion}`.raw,
            (result) => matchedRows(result) === 1
          ),
        storeError(STORE, "save")
      )
      if (!saved) return yield* new SessionConflict({ store: STORE, expectedVersion })
    }),
  purge: Effect.flatMap(
    Clock.currentTimeMillis,
    (now) =>
      sql`DELETE FROM ${t} WHERE expires_at <= ${now - retain}`.raw.pipe(
        Effect.map(affectedRows),
        Effect.mapError(storeError(STORE, "purge"))
      )
  ),
  // a compare-and-set delete counts its row from the result header: none is a conflict (another
  // version, or no record: both mean someone else wrote or removed it)
  delete: (id, expectedVersion) =>
    expectedVersion === undefined
      ? Effect.mapError(Effect.asVoid(sql`DELETE FROM ${t} WHERE id = ${id}`.raw), storeError(STORE, "delete"))
      : sql`DELETE FROM ${t} WHERE id = ${id} AND version = ${expectedVersion}`.raw.pipe(
        Effect.mapError(storeError(STORE, "delete")),
        Effect.flatMap((result) =>
          affectedRows(result) === 1 ? Effect.void : Effect.fail(new SessionConflict({ store: STORE, expectedVersion }))
        )
      ),
  deleteByUser: (userId) =>
    sql`DELETE FROM ${t} WHERE user_id = ${userId}`.raw.pipe(
      Effect.map(affectedRows),
      Effect.mapError(storeError(STORE, "deleteByUser"))
    )
})

/** The SQL text of a statement as the client's compiler writes it (its values are bound per call). */
const compiled = <A>(statement: Statement.Statement<A>): string => statement.compile(true)[0]

type Run = (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
type Row = { readonly [column: string]: unknown }

/**
 * How the hot path runs a compiled statement. On SQLite, on the client's connection itself
 * (`Connection.execute`: better-sqlite3's prepared statement for that text, from the client's cache):
 * the transaction's connection when the fiber is inside `sql.withTransaction` (the write joins it),
 * otherwise the connection reserved for the call (`sql.reserve`: it waits while another fiber's
 * transaction holds it, as every statement of the client does). That leaves out building and
 * compiling a statement and its `sql.execute` span (measured in process, a SELECT by id: 20 µs as a
 * statement, 17.5 µs reserved; the reservation's scope and semaphore are most of it, 4.6 µs on a
 * connection already held). Elsewhere, `sql.unsafe` with the compiled text: the client's own
 * statement path (a span per statement, a pooled connection).
 */
const makeRun = (sql: SqlClient.SqlClient, dialect: SqlStoreDialect): Run =>
  dialect === "sqlite"
    ? (text, params) =>
      Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (joined) =>
        joined._tag === "Some"
          ? joined.value[0].execute(text, params, undefined)
          : Effect.scoped(Effect.flatMap(sql.reserve, (connection) => connection.execute(text, params, undefined))))
    : (text, params) => sql.unsafe<Row>(text, params)

// a compare-and-set write or delete changed its one row, or found another version: a conflict
const oneRowAt = (expectedVersion: number) => (rows: ReadonlyArray<unknown>): Effect.Effect<void, SessionConflict> =>
  rows.length === 1 ? Effect.void : Effect.fail(new SessionConflict({ store: STORE, expectedVersion }))

/** @internal */
export const make = (
  options: SqlStoreOptions = {}
): Effect.Effect<SessionStoreService, SessionStoreError | SessionOptionError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const table = options.table ?? defaultTable
    if (!isValidTableName(table)) {
      return yield* new SessionStoreError({
        store: STORE,
        operation: "connect",
        detail: "the table name must be a plain SQL identifier (letters, digits, _; at most 48 characters)"
      })
    }
    const retain = yield* retainOption(options.retainExpired)
    const timeout = yield* timeoutOption(options.timeout)
    // the app's name transforms (camelCase <-> snake_case) must not touch the store's own columns
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const dialect = sql.onDialectOrElse({
      sqlite: (): SqlStoreDialect => "sqlite",
      pg: (): SqlStoreDialect => "pg",
      mysql: (): SqlStoreDialect => "mysql",
      orElse: () => undefined
    })
    if (dialect === undefined) {
      return yield* new SessionStoreError({
        store: STORE,
        operation: "connect",
        detail: "the SQL store supports SQLite (3.35 or later), PostgreSQL, MySQL and MariaDB"
      })
    }
    const mysql = dialect === "mysql"
    const t = sql(table)

    if (options.migrate ?? true) {
      const migrate = Effect.forEach(schema(table, dialect), (statement) => sql.unsafe(statement), { discard: true })
      // PostgreSQL may fail one of two concurrent CREATE ... IF NOT EXISTS (several instances starting
      // at once): the second attempt then finds what the first made
      yield* migrate.pipe(Effect.retry({ times: 2 }), Effect.mapError(storeError(STORE, "connect")))
    }

    const run = makeRun(sql, dialect)
    // the hot path's statements, compiled once for the client's dialect (placeholders included):
    // a call binds its values to the text, with no statement to build and compile
    const loadText = compiled(sql`SELECT data FROM ${t} WHERE id = ${""}`)
    const insertText = compiled(sql`INSERT INTO ${t} (id, data, version, created_at, expires_at, user_id)
      VALUES (${""}, ${""}, ${0}, ${0}, ${0}, ${null}) ON CONFLICT (id) DO NOTHING RETURNING id`)
    const updateText = compiled(sql`UPDATE ${t} SET data = ${""}, version = ${0}, created_at = ${0},
      expires_at = ${0}, user_id = ${null} WHERE id = ${""} AND version = ${0} RETURNING id`)
    const deleteText = compiled(sql`DELETE FROM ${t} WHERE id = ${""}`)
    const deleteVersionText = compiled(sql`DELETE FROM ${t} WHERE id = ${""} AND version = ${0} RETURNING id`)

    const load = (id: string) =>
      run(loadText, [id]).pipe(
        Effect.map((rows) => {
          const row: { readonly data?: unknown } | undefined = rows[0]
          return row === undefined || typeof row.data !== "string"
            ? Option.none<SessionRecord>()
            : decodeRecord(row.data)
        }),
        Effect.mapError(storeError(STORE, "load"))
      )

    const save = (id: string, record: SessionRecord, expectedVersion: number) =>
      Effect.suspend(() => {
        let data: string
        try {
          data = encodeRecord(record)
        } catch (cause) {
          return Effect.fail(storeError(STORE, "save")(cause))
        }
        const userId = record.userId ?? null
        return run(
          expectedVersion === 0 ? insertText : updateText,
          expectedVersion === 0
            ? [id, data, record.version, record.createdAt, record.expiresAt, userId]
            : [data, record.version, record.createdAt, record.expiresAt, userId, id, expectedVersion]
        ).pipe(
          Effect.mapError(storeError(STORE, "save")),
          Effect.flatMap(oneRowAt(expectedVersion))
        )
      })

    const purge: Effect.Effect<number, SessionStoreError> = Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        sql`DELETE FROM ${t} WHERE expires_at <= ${now - retain} RETURNING id`.pipe(
          Effect.map((rows) => rows.length),
          Effect.mapError(storeError(STORE, "purge"))
        )
    )

    const mysqlOperations = mysql ? makeMysqlOperations(sql, t, retain) : undefined

    // the store's statements run on the transaction's connection when the calling fiber is inside
    // `sql.withTransaction` (the tag is in its context): such a write is the app's to commit or roll back
    const tentative: Effect.Effect<boolean> = Effect.map(
      Effect.serviceOption(SqlClient.TransactionConnection),
      Option.isSome
    )

    yield* schedulePurge(mysqlOperations?.purge ?? purge, options.purgeInterval)

    const remove = (id: string, expectedVersion?: number) =>
      expectedVersion === undefined
        ? Effect.mapError(Effect.asVoid(run(deleteText, [id])), storeError(STORE, "delete"))
        // compare-and-set: the row goes only at that version; none deleted is a conflict
        : run(deleteVersionText, [id, expectedVersion]).pipe(
          Effect.mapError(storeError(STORE, "delete")),
          Effect.flatMap(oneRowAt(expectedVersion))
        )

    const guarded = withTimeout(
      {
        name: STORE,
        load,
        save,
        delete: remove,
        deleteByUser: (userId: string) =>
          sql`DELETE FROM ${t} WHERE user_id = ${userId} RETURNING id`.pipe(
            Effect.map((rows) => rows.length),
            Effect.mapError(storeError(STORE, "deleteByUser"))
          ),
        purge,
        list: makeListing(sql, table),
        tentative,
        ...mysqlOperations
      } satisfies SessionStoreService,
      timeout
    )
    // SQLite answers a request's calls (load, save, delete) synchronously, on the thread: a timer
    // cannot cut them short, and arming one (a child fiber and a timer, `timeoutFail`) costs about
    // 10 µs a call, as much as the rest of the call. SQLite's busy timeout bounds a wait for another
    // process's lock; what may still wait is the client's connection while a transaction of the app
    // holds it, as every statement of the app does.
    return dialect === "sqlite" ? { ...guarded, load, save, delete: remove } : guarded
  })

// ---------------------------------------------------------------------------------------------
// the listing (SessionStoreService.list): standard SQL, the same on every dialect
// ---------------------------------------------------------------------------------------------

const LIST_PAGE = 500

interface ListRow {
  readonly id: string | Uint8Array
  readonly created_at: number | string | bigint
  readonly expires_at: number | string | bigint
  readonly user_id: string | Uint8Array | null
}

/**
 * Lists the table a page at a time, in id order (keyset pagination: each page starts after the last
 * id of the previous one, so that a large table is never read at once nor scanned from the start).
 * Counts with `COUNT(*)`; clears with one `DELETE`. BIGINT columns may come back as strings
 * (PostgreSQL): they are read with `Number` (epoch milliseconds are safe integers).
 */
// a text column as a string: MySQL's VARBINARY ids and user ids come back as bytes
const decoder = new TextDecoder()
const text = (value: unknown): string => value instanceof Uint8Array ? decoder.decode(value) : String(value)

const makeListing = (sql: SqlClient.SqlClient, table: string): Listing => {
  const t = sql(table)
  const page = (after: Option.Option<string>) =>
    Effect.mapError(
      Option.match(after, {
        onNone: () => sql<ListRow>`SELECT id, created_at, expires_at, user_id FROM ${t} ORDER BY id LIMIT ${LIST_PAGE}`,
        onSome: (id) =>
          sql<ListRow>`SELECT id, created_at, expires_at, user_id FROM ${t} WHERE id > ${id}
            ORDER BY id LIMIT ${LIST_PAGE}`
      }),
      storeError(STORE, "list")
    )
  return {
    entries: Stream.paginateChunkEffect(Option.none<string>(), (after) =>
      Effect.map(page(after), (rows) =>
        [
          Chunk.unsafeFromArray(rows.map((row) =>
            summary(text(row.id), {
              createdAt: Number(row.created_at),
              expiresAt: Number(row.expires_at),
              userId: row.user_id === null || row.user_id === undefined ? undefined : text(row.user_id)
            })
          )),
          rows.length < LIST_PAGE ? Option.none() : Option.some(Option.some(text(rows[rows.length - 1]!.id)))
        ] as const)),
    count: sql<{ readonly n: number | string | bigint }>`SELECT COUNT(*) AS n FROM ${t}`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.mapError(storeError(STORE, "count"))
    ),
    clear: Effect.mapError(Effect.asVoid(sql`DELETE FROM ${t}`), storeError(STORE, "clear"))
  }
}

/** @internal */
export const layerStore = (
  options?: SqlStoreOptions
): Layer.Layer<SessionStore, SessionStoreError | SessionOptionError, SqlClient.SqlClient> =>
  Layer.scoped(sessionStoreTag, make(options))

/** @internal */
export const layerStoreConfig = (
  options: Config.Config.Wrap<SqlStoreOptions>
): Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError, SqlClient.SqlClient> =>
  Layer.scoped(sessionStoreTag, optionsFromConfig(Effect.flatMap(Config.unwrap(options), make)))
