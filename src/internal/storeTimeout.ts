import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { SessionStoreError, type SessionStoreOperation } from "../SessionError.js"
import type { SessionStoreService } from "../SessionStore.js"
import { timeoutFail } from "./timer.js"

/** Every call of the store ends within `timeout`, or fails with a `SessionStoreError`. @internal */
export const withTimeout = (store: SessionStoreService, duration: Duration.DurationInput): SessionStoreService => {
  const timeout = Duration.decode(duration)
  const guard = <A, E>(operation: SessionStoreOperation, effect: Effect.Effect<A, E>) =>
    timeoutFail(
      effect,
      timeout,
      () =>
        new SessionStoreError({ store: store.name, operation, detail: `no answer within ${Duration.format(timeout)}` })
    )
  return {
    name: store.name,
    load: (id) => guard("load", store.load(id)),
    save: (id, record, expected) => guard("save", store.save(id, record, expected)),
    delete: (id) => guard("delete", store.delete(id)),
    deleteByUser: (userId) => guard("deleteByUser", store.deleteByUser(userId)),
    purge: guard("purge", store.purge)
  }
}
