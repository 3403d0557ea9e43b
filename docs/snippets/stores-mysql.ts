// docs/stores.md. Type-checked by `npm run check`.
// #region mysql
import { MysqlClient } from "@effect/sql-mysql2"
import { Config, Layer } from "effect"
import * as SqlStore from "effect-session/SessionStore/Sql"

// MYSQL_URL: mysql://user:password@host:3306/database
export const StoreLive = SqlStore.layerStore().pipe(
  Layer.provide(MysqlClient.layerConfig({ url: Config.redacted("MYSQL_URL") }))
)
// #endregion mysql
