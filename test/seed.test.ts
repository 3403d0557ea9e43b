import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Session, SessionStore } from "effect-session"
import { Failed, Path, transactional, visit } from "./utils/seed.js"

const layer = (id: string) => Session.open(id).pipe(Layer.provideMerge(SessionStore.layerMemory()))

describe("the seed's cases, without HTTP", () => {
  it.effect("simple_app: the history is committed on success and discarded on failure", () =>
    Effect.gen(function*() {
      expect(yield* visit("/foo")).toBe("/foo")
      expect(yield* visit("/bar")).toBe("/foo, /bar")
      const failure = yield* Effect.flip(visit("/fail"))
      expect(failure).toBeInstanceOf(Failed)
      const history = yield* Session.transaction(Session.getOrElse(Path, () => []))
      expect(history.join(", ")).toBe("/foo, /bar")
    }).pipe(Effect.provide(layer("simple"))))

  it.effect("transactional_app: abort, commit, savepoints, and no writes after the units closed", () =>
    Effect.gen(function*() {
      const result = yield* transactional
      expect(result.afterAbort).toEqual([])
      expect(result.atSp2).toEqual([Option.some("Zope"), Option.some("Quack")])
      expect(result.refused._tag).toBe("SessionStateError")
      expect(result.refused.message).toBe("Session's current state disallows writing")
      expect(result.body).toBe("CromLech")
    }).pipe(Effect.provide(layer("transactional"))))

  it.effect("the history survives in the store: a new manager on the same id sees it", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      yield* visit("/foo").pipe(Effect.provide(Session.open("again")))
      yield* visit("/bar").pipe(Effect.provide(Session.open("again")))
      const record = yield* store.load("again")
      expect(Option.map(record, (r) => r.data)).toEqual(Option.some({ path: ["/foo", "/bar"] }))
      expect(Option.map(record, (r) => r.version)).toEqual(Option.some(2))
    }).pipe(Effect.provide(SessionStore.layerMemory())))
})
