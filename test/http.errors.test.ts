/**
 * Issue #12's "Errors" for the HTTP module: the sealed cookie's size error and HttpApi's
 * `SessionUnavailable` are part of `SessionError` (one TypeId, `isSessionError` knows them), under
 * their public names too; `orUnavailable` maps only the session's store and state errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Predicate } from "effect"
import { HttpSession, SessionError } from "effect-session"
import * as SealedCookie from "effect-session/HttpSession/SealedCookie"

describe("errors of the HTTP module are SessionErrors", () => {
  it("SealedCookieTooLarge and SessionUnavailable carry the TypeId, and isSessionError knows them", () => {
    const tooLarge = new SessionError.SealedCookieTooLarge({ length: 5000, maxLength: 4089 })
    const unavailable = new SessionError.SessionUnavailable()
    for (const error of [tooLarge, unavailable]) {
      expect(Predicate.hasProperty(error, SessionError.TypeId)).toBe(true)
      expect(SessionError.isSessionError(error)).toBe(true)
    }
    // the public names where they were: the same classes
    expect(SealedCookie.SealedCookieTooLarge).toBe(SessionError.SealedCookieTooLarge)
    expect(HttpSession.SessionUnavailable).toBe(SessionError.SessionUnavailable)
    expect(new HttpSession.SessionUnavailable()).toBeInstanceOf(SessionError.SessionUnavailable)
  })

  it.effect("orUnavailable maps a store error once, and leaves a SessionUnavailable as it is", () =>
    Effect.gen(function*() {
      const store = new SessionError.SessionStoreError({ store: "memory", operation: "load" })
      const once = yield* Effect.exit(HttpSession.orUnavailable(Effect.fail(store)))
      const twice = yield* Effect.exit(HttpSession.orUnavailable(HttpSession.orUnavailable(Effect.fail(store))))
      for (const exit of [once, twice]) {
        expect(Exit.isFailure(exit)).toBe(true)
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("SessionUnavailable")
      }
    }))
})
