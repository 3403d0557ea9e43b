// docs/stores.md: SQLite with synchronous = FULL. Type-checked by `npm run check`.
// #region sqlite-full
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import * as SqlStore from "effect-session/SessionStore/Sql"

// SqliteClient turns WAL on, where better-sqlite3's default is NORMAL; FULL adds an fsync to every commit
const Client = SqliteClient.layer({ filename: "sessions.db" })
const SynchronousFull = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA synchronous = FULL`)
)

export const DurableStoreLive = SqlStore.layerStore().pipe(Layer.provide(Layer.provideMerge(SynchronousFull, Client)))
// #endregion sqlite-full
