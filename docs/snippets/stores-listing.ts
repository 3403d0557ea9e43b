// docs/stores.md. Type-checked by `npm run check`.
// #region listing
import { Clock, Effect, Redacted, Stream } from "effect"
import { SessionStore } from "effect-session"

// an admin screen: how many sessions, who is signed in, and a button that ends one session
export const overview = Effect.gen(function*() {
  const listing = yield* SessionStore.list(yield* SessionStore.SessionStore) // SessionStoreError if the store cannot list
  const now = yield* Clock.currentTimeMillis
  const total = yield* listing.count
  const signedIn = yield* listing.entries.pipe(
    Stream.filter((session) => session.userId !== undefined && session.expiresAt > now),
    Stream.map((session) => ({ userId: session.userId, until: new Date(session.expiresAt) })),
    Stream.take(100),
    Stream.runCollect
  )
  return { total, signedIn }
})

export const endSession = (session: SessionStore.SessionSummary) =>
  Effect.flatMap(SessionStore.SessionStore, (store) => store.delete(Redacted.value(session.id)))

// express-session's store.clear(): every session of this store is gone
export const clearAll = Effect.flatMap(
  Effect.flatMap(SessionStore.SessionStore, SessionStore.list),
  (listing) => listing.clear
)
// #endregion listing
