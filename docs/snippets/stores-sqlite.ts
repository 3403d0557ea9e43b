// docs/stores.md. Type-checked by `npm run check`.
// #region sqlite
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Layer } from "effect"
import * as SqlStore from "effect-session/SessionStore/Sql"

export const StoreLive = SqlStore.layerStore().pipe(Layer.provide(SqliteClient.layer({ filename: "sessions.db" })))
// #endregion sqlite
