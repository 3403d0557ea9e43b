import type { SessionStoreService, Sync } from "../SessionStore.js"

/**
 * The synchronous operations `store` declares, if it declares them and its `load` and `save` are
 * still the effects they stand for (`sync.effects`): a wrapper made by spreading the store and
 * replacing either does not take the synchronous path. @internal
 */
export const syncOf = (store: SessionStoreService): Sync | undefined => {
  const sync = store.sync
  return sync !== undefined && sync.effects.load === store.load && sync.effects.save === store.save
    ? sync
    : undefined
}
