import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { SessionStoreError } from "../SessionError.js"
import type { Listing, SessionRecord, SessionStoreService, SessionSummary } from "../SessionStore.js"

/** @internal */
export const list = (store: SessionStoreService): Effect.Effect<Listing, SessionStoreError> =>
  store.list === undefined
    ? Effect.fail(
      new SessionStoreError({
        store: store.name,
        operation: "list",
        detail: "this store does not declare the listing capability (SessionStoreService.list)"
      })
    )
    : Effect.succeed(store.list)

/** A listing row from a stored record. @internal */
export const summary = (
  id: string,
  record: Pick<SessionRecord, "createdAt" | "expiresAt" | "userId">
): SessionSummary => ({
  id: Redacted.make(id),
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  userId: record.userId
})
