/**
 * A session store on `@effect/sql`'s `SqlClient`: SQLite (`@effect/sql-sqlite-node`, the embedded,
 * durable option), PostgreSQL (`@effect/sql-pg`) or MySQL / MariaDB (`@effect/sql-mysql2`), the last
 * two for several app instances.
 *
 * - The store creates its table and indexes when the layer is built (`CREATE ... IF NOT EXISTS`;
 *   `migrate: false` turns that off for apps that manage their schema). The schema:
 *
 *   ```sql
 *   CREATE TABLE IF NOT EXISTS effect_sessions (
 *     id TEXT PRIMARY KEY,
 *     data TEXT NOT NULL,          -- the whole record, as SessionStore.encodeRecord makes it
 *     version INTEGER NOT NULL,    -- the compare-and-set token
 *     created_at BIGINT NOT NULL,  -- epoch milliseconds, from Clock
 *     expires_at BIGINT NOT NULL,  -- epoch milliseconds, from Clock
 *     user_id TEXT                 -- for deleteByUser ("log out everywhere")
 *   );
 *   CREATE INDEX IF NOT EXISTS effect_sessions_expires_at_idx ON effect_sessions (expires_at);
 *   CREATE INDEX IF NOT EXISTS effect_sessions_user_id_idx ON effect_sessions (user_id);
 *   ```
 *
 *   On MySQL and MariaDB (`schema(table, "mysql")`) the same columns, with `id` and `user_id` as
 *   `VARBINARY(1024)` (compared byte for byte, whatever the server's collation), `data` as
 *   `LONGTEXT CHARACTER SET utf8mb4`, and the indexes declared in the `CREATE TABLE`.
 *
 * - Compare-and-set in one statement: a first save is `INSERT ... ON CONFLICT (id) DO NOTHING
 *   RETURNING id`, a later one `UPDATE ... WHERE id = ? AND version = ? RETURNING id`; no row back
 *   is a `SessionConflict`. The database's row lock makes exactly one of two concurrent saves win.
 *   MySQL has no `RETURNING`: there a first save is a plain `INSERT` whose duplicate-key error is the
 *   conflict, and a later one the same `UPDATE`, whose matched-row count is the answer.
 * - Purge is one `DELETE ... WHERE expires_at <= ?`, run on a schedule in the layer's scope (every
 *   instance may run it: it is idempotent). Time is always the app's `Clock`, passed as a
 *   parameter, never the database's `now()`.
 * - Listing (`SessionStore.list`): pages of 500 rows in id order (`WHERE id > ? ORDER BY id LIMIT
 *   500`), `COUNT(*)`, and `DELETE FROM` the table for `clear`.
 *
 * ## Joining the app's transaction
 *
 * The store runs its statements on the `SqlClient` it was built with, and `SqlClient` runs every
 * statement on the connection of the transaction the current fiber is in. So when the app wraps a
 * unit of work in `sql.withTransaction` on the same client, the session commit is one more
 * statement of the app's transaction: the app's rows and the session commit or roll back together
 * (a `SessionConflict` at commit fails the effect, so the app's transaction rolls back too).
 *
 * ```ts
 * const placeOrder = Effect.gen(function*() {
 *   const sql = yield* SqlClient.SqlClient
 *   yield* sql`INSERT INTO orders ${sql.insert(order)}`
 *   yield* Session.set(Cart, [])
 * }).pipe(Session.transaction, sql.withTransaction) // Session.transaction inside withTransaction
 * ```
 *
 * Keep `Session.transaction` the innermost of the two, as above, so that nothing can fail between
 * the session commit and the database commit. If the database transaction does roll back after the
 * unit committed (something failed after `Session.transaction` but inside `withTransaction`), the
 * session row goes back to its old version while the request's manager remembers the new one; its
 * next commit is still checked by compare-and-set, so nothing is silently overwritten. With
 * PostgreSQL the session row stays locked until the app's transaction ends, so a concurrent request
 * of the same session waits for it.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "../internal/storeSql.js"
import type { SessionOptionError, SessionStoreError } from "../SessionError.js"
import type { SessionStore, SessionStoreService } from "../SessionStore.js"

/**
 * Options of the SQL store.
 *
 * @example
 * ```ts
 * import { PgClient } from "@effect/sql-pg"
 * import { Layer, Redacted } from "effect"
 * import * as SqlStore from "effect-session/SessionStore/Sql"
 *
 * const options: SqlStore.SqlStoreOptions = {
 *   table: "app_sessions",
 *   migrate: false, // the schema is managed by the app's migrations (see SqlStore.schema)
 *   purgeInterval: "15 minutes"
 * }
 * const StoreLive = SqlStore.layerStore(options).pipe(
 *   Layer.provide(PgClient.layer({ url: Redacted.make("postgres://app@db.internal/app") }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SqlStoreOptions {
  /**
   * The table name: a plain identifier (letters, digits and `_`, at most 48 characters; put it in
   * another schema with the connection's `search_path` on PostgreSQL, its database on MySQL).
   * Default: `effect_sessions`.
   */
  readonly table?: string | undefined
  /** Create the table and its indexes when the layer is built. Default: `true`. */
  readonly migrate?: boolean | undefined
  /**
   * How long an expired session is kept so that a returning client can be told what expired.
   * Default: 1 hour.
   */
  readonly retainExpired?: Duration.DurationInput | undefined
  /**
   * Every call of the store that has not answered within this time fails with a
   * `SessionStoreError`, so that a hanging backend never hangs a request (`SessionStore.withTimeout`).
   * On SQLite, `load`, `save` and `delete` are not bounded by it: they run synchronously on the
   * client's connection, where a timer cannot cut them short (see docs/stores.md).
   * Default: 5 seconds.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * How often the purge runs (a fiber in the layer's scope). Default: 5 minutes.
   * `Duration.infinity` turns it off (run `purge` yourself, e.g. from a cron job).
   */
  readonly purgeInterval?: Duration.DurationInput | undefined
}

/**
 * The SQL dialects the store runs on, as `@effect/sql` names them: SQLite, PostgreSQL, and MySQL
 * (which covers MariaDB).
 *
 * @since 0.1.0
 * @category models
 */
export type SqlStoreDialect = "sqlite" | "pg" | "mysql"

/**
 * Makes a SQL store in the current scope on the `SqlClient` in context: checks the dialect
 * (SQLite, PostgreSQL, MySQL or MariaDB), runs the migration unless `migrate: false`, and forks the purge fiber.
 * Fails with `SessionStoreError` (operation `connect`) on an invalid table name, an unsupported
 * dialect, or a failed migration, and with `SessionOptionError` on an invalid `retainExpired`,
 * `timeout` or `purgeInterval`.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Duration, Effect } from "effect"
 * import * as SqlStore from "effect-session/SessionStore/Sql"
 *
 * // a cron job: purge expired sessions once (the app's instances run with purgeInterval: Duration.infinity)
 * const purgeOnce = Effect.gen(function*() {
 *   const store = yield* SqlStore.make({ purgeInterval: Duration.infinity })
 *   const removed = yield* store.purge
 *   yield* Effect.log(`${removed} expired sessions removed`)
 * }).pipe(Effect.scoped, Effect.provide(SqliteClient.layer({ filename: "sessions.db" })))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: SqlStoreOptions
) => Effect.Effect<SessionStoreService, SessionStoreError | SessionOptionError, SqlClient.SqlClient | Scope.Scope> =
  internal.make

/**
 * The SQL store as a layer, on the `SqlClient` the app provides.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Layer } from "effect"
 * import * as SqlStore from "effect-session/SessionStore/Sql"
 *
 * const StoreLive = SqlStore.layerStore().pipe(Layer.provide(SqliteClient.layer({ filename: "sessions.db" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore: (
  options?: SqlStoreOptions
) => Layer.Layer<SessionStore, SessionStoreError | SessionOptionError, SqlClient.SqlClient> = internal.layerStore

/**
 * The SQL store as a layer, its options read from `Config`.
 *
 * @example
 * ```ts
 * import { PgClient } from "@effect/sql-pg"
 * import { Config, Layer } from "effect"
 * import * as SqlStore from "effect-session/SessionStore/Sql"
 *
 * const StoreLive = SqlStore.layerStoreConfig({
 *   table: Config.string("SESSION_TABLE").pipe(Config.withDefault("effect_sessions"))
 * }).pipe(Layer.provide(PgClient.layerConfig({ url: Config.redacted("DATABASE_URL") })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStoreConfig: (
  options: Config.Config.Wrap<SqlStoreOptions>
) => Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError, SqlClient.SqlClient> =
  internal.layerStoreConfig

/**
 * The statements of the store's migration for a table name (default `effect_sessions`) and a
 * dialect, as SQL text, for apps that manage their schema themselves (`migrate: false`). SQLite and
 * PostgreSQL share one text (the default); MySQL and MariaDB have their own (`"mysql"`). Throws a
 * `RangeError` on an invalid table name.
 *
 * @example
 * ```ts
 * import * as fs from "node:fs"
 * import * as SqlStore from "effect-session/SessionStore/Sql"
 *
 * // write the store's schema into the app's migrations
 * fs.writeFileSync("migrations/0007_sessions.sql", SqlStore.schema("app_sessions").join(";\n") + ";\n")
 * fs.writeFileSync("migrations/mysql/0007_sessions.sql", SqlStore.schema("app_sessions", "mysql").join(";\n") + ";\n")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const schema: (table?: string, dialect?: SqlStoreDialect) => ReadonlyArray<string> = internal.schema
