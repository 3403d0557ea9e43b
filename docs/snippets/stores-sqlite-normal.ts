// docs/stores.md: SQLite with synchronous = NORMAL. Type-checked by `npm run check`.
// #region sqlite-normal
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import * as SqlStore from "effect-session/SessionStore/Sql"

// SqliteClient turns WAL on; `synchronous = NORMAL` then drops the fsync of every commit
const Client = SqliteClient.layer({ filename: "sessions.db" })
const SynchronousNormal = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA synchronous = NORMAL`)
)

export const FasterStoreLive = SqlStore.layerStore().pipe(Layer.provide(Layer.provideMerge(SynchronousNormal, Client)))
// #endregion sqlite-normal
