// docs/stores.md. Type-checked by `npm run check`.
// #region memory-limits
import { Config } from "effect"
import { SessionStore } from "effect-session"

// at most 50 000 sessions and 64 MiB: whichever comes first evicts the least recently used session
export const BoundedStoreLive = SessionStore.layerMemory({ maxEntries: 50_000, maxBytes: 64 * 1024 * 1024 })

// the same from Config: SESSION_MAX_ENTRIES=50000 SESSION_MAX_BYTES=67108864 (missing: the default)
export const ConfiguredStoreLive = SessionStore.layerMemoryConfig({
  maxEntries: Config.integer("SESSION_MAX_ENTRIES").pipe(Config.withDefault(100_000)),
  maxBytes: Config.integer("SESSION_MAX_BYTES").pipe(
    Config.withDefault(SessionStore.memoryStoreDefaults.maxBytes)
  ),
  retainExpired: Config.duration("SESSION_RETAIN").pipe(Config.withDefault("1 hour"))
})
// #endregion memory-limits
