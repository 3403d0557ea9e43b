// docs/stores.md. Type-checked by `npm run check`.
// #region cookie
import { Either, Option, Redacted } from "effect"
import type { SessionStore } from "effect-session"
import { HttpSession } from "effect-session"
import * as SealedCookie from "effect-session/HttpSession/SealedCookie"

const secrets = [Redacted.make("a random secret of 32 bytes or more!!")]

// an HTTP app whose sessions live in the cookie: no store layer at all
export const SessionLive = HttpSession.layerSealed({ secrets, idleTimeout: "2 hours" })

// the seal itself, for other uses (e.g. a sealed value in a header)
export const roundTrip = (record: SessionStore.SessionRecord, now: number): boolean =>
  Either.match(SealedCookie.seal(record, secrets, { context: "header" }), {
    onLeft: () => false, // a SessionStoreError: e.g. over the size limit (its cause a SealedCookieTooLarge)
    onRight: (sealed) => Option.isSome(SealedCookie.unseal(sealed, secrets, now, { context: "header" }))
  })
// #endregion cookie
