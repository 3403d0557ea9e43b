// docs/stores.md. Type-checked by `npm run check`.
// #region sqlite
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Layer } from "effect"
import * as SqlStore from "effect-session/SessionStore/Sql"

export const StoreLive = SqlStore.layerStore().pipe(Layer.provide(SqliteClient.layer({ filename: "sessions.db" })))
// #endregion sqlite

// #region sqlite-normal
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// SqliteClient turns WAL on; `synchronous = NORMAL` then drops the fsync of every commit
const Client = SqliteClient.layer({ filename: "sessions.db" })
const SynchronousNormal = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA synchronous = NORMAL`)
)

export const FasterStoreLive = SqlStore.layerStore().pipe(Layer.provide(Layer.provideMerge(SynchronousNormal, Client)))
// #endregion sqlite-normal
