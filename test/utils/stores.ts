/**
 * Memory stores with a twist, for tests: one that counts its calls, one whose saves fail. One place,
 * so that every test proves the same thing the same way.
 */
import { Effect, Layer } from "effect"
import type { SessionError } from "effect-session"
import { SessionStore } from "effect-session"

/** The memory store with some of its operations replaced (`change` gets the real one). */
export const memoryStoreWith = (
  change: (store: SessionStore.MemoryStore) => Partial<SessionStore.SessionStoreService>
): Layer.Layer<SessionStore.SessionStore> =>
  Layer.scoped(
    SessionStore.SessionStore,
    Effect.map(SessionStore.makeMemory(), (store) => ({ ...store, ...change(store) }))
  )

/** The memory store, every call counted (`calls`), with the ids it was asked to load (`loads`). */
export const countingStore = () => {
  const calls = { load: 0, save: 0, delete: 0, deleteByUser: 0, purge: 0 }
  const loads: Array<string> = []
  const layer = memoryStoreWith((store) => ({
    load: (id) => Effect.suspend(() => (calls.load++, loads.push(id), store.load(id))),
    save: (id, record, version) => Effect.suspend(() => (calls.save++, store.save(id, record, version))),
    delete: (id, expectedVersion) => Effect.suspend(() => (calls.delete++, store.delete(id, expectedVersion))),
    deleteByUser: (userId) => Effect.suspend(() => (calls.deleteByUser++, store.deleteByUser(userId))),
    purge: Effect.suspend(() => (calls.purge++, store.purge))
  }))
  const reset = () => {
    for (const k of Object.keys(calls) as Array<keyof typeof calls>) calls[k] = 0
    loads.length = 0
  }
  return { calls, loads, layer, reset }
}

/** The memory store whose saves fail with `error`: a backend that is down, or a writer that won. */
export const failingSaves = (
  error: SessionError.SessionStoreError | SessionError.SessionConflict
): Layer.Layer<SessionStore.SessionStore> => memoryStoreWith(() => ({ save: () => Effect.fail(error) }))
