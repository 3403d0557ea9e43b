// docs/stores.md. Type-checked by `npm run check`.
// #region cookie
import { Config } from "effect"
import * as Cookie from "effect-session/SessionStore/Cookie"

export const SealedLive = Cookie.layerConfig({ secrets: Config.array(Config.redacted(), "SESSION_SECRETS") })
// #endregion cookie
