import type * as Option from "effect/Option"
import type { SessionConflict } from "../SessionError.js"
import type { SessionRecord, SessionStoreService } from "../SessionStore.js"

/**
 * The operations of a store that complete at once (the memory store), as plain functions: the
 * manager calls them without building effects, on the hot path of every request. Same semantics as
 * the store's `load` and `save` (`now` is the time the save would read from `Clock`).
 *
 * @internal
 */
export interface SyncStore {
  readonly load: (id: string) => Option.Option<SessionRecord>
  readonly save: (
    id: string,
    record: SessionRecord,
    expectedVersion: number,
    now: number
  ) => SessionConflict | undefined
}

const SyncStoreId: unique symbol = Symbol.for("effect-session/SyncStore")

interface Marked {
  readonly sync: SyncStore
  /** The effects the synchronous operations stand for. */
  readonly load: SessionStoreService["load"]
  readonly save: SessionStoreService["save"]
}

/**
 * Marks `store` as having synchronous operations. Not enumerable: a wrapper made by spreading the
 * store (`{ ...store, load: ... }`, a timeout, a counter) does not copy it, so that the manager goes
 * through the wrapper's effects.
 *
 * @internal
 */
export const withSync = <S extends SessionStoreService>(store: S, sync: SyncStore): S =>
  Object.defineProperty(store, SyncStoreId, {
    value: { sync, load: store.load, save: store.save } satisfies Marked,
    enumerable: false
  })

/**
 * The synchronous operations of `store`, if it has them and its `load` and `save` are still the
 * ones they stand for (not a wrapper that passes the mark on, such as a Proxy). @internal
 */
export const syncOf = (store: SessionStoreService): SyncStore | undefined => {
  const marked = (store as { readonly [SyncStoreId]?: Marked })[SyncStoreId]
  return marked !== undefined && marked.load === store.load && marked.save === store.save ? marked.sync : undefined
}
