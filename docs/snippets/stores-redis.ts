// docs/stores.md. Type-checked by `npm run check`.
// #region redis
import { Config } from "effect"
import * as RedisStore from "effect-session/SessionStore/Redis"

export const StoreLive = RedisStore.layerStoreConfig({ url: Config.redacted("REDIS_URL") })
export const ClusterStoreLive = RedisStore.layerStore({ nodes: [{ host: "10.0.0.1", port: 7000 }] })
// #endregion redis
