// docs/stores.md. Type-checked by `npm run check`.
// #region cookie
import { Config, Effect, Layer, Option, Redacted } from "effect"
import type { SessionStore } from "effect-session"
import { HttpSession } from "effect-session"
import * as Cookie from "effect-session/SessionStore/Cookie"

// an HTTP app whose sessions live in the cookie: no store layer at all
export const SessionLive = HttpSession.layerSealed({
  secrets: [Redacted.make("a random secret of 32 bytes or more!!")],
  idleTimeout: "2 hours"
})

// the seal itself, for other uses (e.g. a sealed value in a header)
export const SealedLive = Cookie.layerConfig({ secrets: Config.array(Config.redacted(), "SESSION_SECRETS") })
export const roundTrip = (record: SessionStore.SessionRecord) =>
  Effect.gen(function*() {
    const sealed = yield* Cookie.SealedCookie
    const text = yield* sealed.seal(record)
    return Option.isSome(yield* sealed.unseal(text))
  }).pipe(Effect.provide(Layer.orDie(SealedLive)))
// #endregion cookie
