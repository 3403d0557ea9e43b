import * as Context from "effect/Context"
import type { SessionStore, SessionStoreService } from "../SessionStore.js"

/**
 * The one tag of the session store, made here so that the stores (internal modules) and the public
 * module share it without importing each other as values. `SessionStore.SessionStore` re-exports it.
 *
 * @internal
 */
export const sessionStoreTag: Context.Tag<SessionStore, SessionStoreService> = Context.GenericTag<
  SessionStore,
  SessionStoreService
>("effect-session/SessionStore")
