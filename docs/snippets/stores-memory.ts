// docs/stores.md. Type-checked by `npm run check`.
// #region memory
import { SessionStore } from "effect-session"

export const StoreLive = SessionStore.layerMemory({ maxEntries: 100_000 })
// #endregion memory
