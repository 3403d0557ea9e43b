import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { SessionStoreError, type SessionStoreOperation } from "../SessionError.js"
import type { SessionStoreService } from "../SessionStore.js"
import { timeoutFail } from "./timer.js"

/**
 * Every call of the store ends within `timeout`, or fails with a `SessionStoreError`. The wrapper
 * has no `sync` (its `load` and `save` are effects with a timer, which plain functions cannot
 * stand for); it keeps `list`, each call of it bounded the same way, and `tentative`. @internal
 */
export const withTimeout = (store: SessionStoreService, duration: Duration.DurationInput): SessionStoreService => {
  const timeout = Duration.decode(duration)
  const error = (operation: SessionStoreOperation) => () =>
    new SessionStoreError({ store: store.name, operation, detail: `no answer within ${Duration.format(timeout)}` })
  const guard = <A, E>(operation: SessionStoreOperation, effect: Effect.Effect<A, E>) =>
    timeoutFail(effect, timeout, error(operation))
  const list = store.list
  return {
    name: store.name,
    load: (id) => guard("load", store.load(id)),
    save: (id, record, expected) => guard("save", store.save(id, record, expected)),
    delete: (id, expectedVersion) => guard("delete", store.delete(id, expectedVersion)),
    deleteByUser: (userId) => guard("deleteByUser", store.deleteByUser(userId)),
    purge: guard("purge", store.purge),
    // no sync: dropped on purpose (see above); tentative is kept (it asks the fiber, not the backend)
    ...(store.tentative === undefined ? {} : { tentative: store.tentative }),
    ...(list === undefined ? {} : {
      list: {
        // each page (each pull) of the stream within the timeout
        entries: Stream.timeoutFail(list.entries, error("list"), timeout),
        count: guard("count", list.count),
        clear: guard("clear", list.clear)
      }
    })
  }
}
