// docs/stores.md. Type-checked by `npm run check`.
// #region postgres
import { PgClient } from "@effect/sql-pg"
import { Config, Layer } from "effect"
import * as SqlStore from "effect-session/SessionStore/Sql"

export const StoreLive = SqlStore.layerStore().pipe(
  Layer.provide(PgClient.layerConfig({ url: Config.redacted("DATABASE_URL") }))
)
// #endregion postgres
