/**
 * docs/concurrency.md. Type-checked by `npm run check`.
 */
import { Layer, Redacted } from "effect"
import { HttpSession, SessionStore } from "effect-session"

// #region policy
export const SessionLive = HttpSession.layer({
  secrets: [Redacted.make("change me: a random secret of 32 bytes or more")],
  onConflict: "merge", // "fail" | "retry" | "merge" (default) | "merge-then-retry"
  retryAttempts: 3, // runs in all for "retry", merges tried for "merge"
  lockTimeout: "5 seconds" // the longest a unit waits for another unit of the same session (in-process)
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion policy
