import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, Layer, Option, Schema } from "effect"
import { Session, SessionStore } from "effect-session"

class Failed extends Data.TaggedError("Failed")<{}> {}

const Path = Session.key("path", Schema.Array(Schema.String))
const Crom = Session.key("crom", Schema.String)
const Lech = Session.key("lech", Schema.String)

// the seed's simple_app, as a unit of work: append the path; "/fail" appends and then fails
const visit = (path: string) =>
  Effect.gen(function*() {
    const history = [...yield* Session.getOrElse(Path, () => []), path]
    yield* Session.set(Path, history)
    if (path === "/fail") return yield* new Failed()
    return history.join(", ")
  }).pipe(Session.transaction)

// the seed's transactional_app: three units of work, then a write through a leaked handle
const transactional = Effect.gen(function*() {
  const first = yield* Session.transaction(Effect.gen(function*() {
    yield* Session.set(Crom, "Pyramid")
    yield* Session.abort
    return yield* Session.Session
  }))
  const afterAbort = yield* first.keys

  yield* Session.transaction(Session.set(Crom, "Crom"))

  const third = yield* Session.transaction(Effect.gen(function*() {
    yield* Session.set(Lech, "Lech")
    const sp1 = yield* Session.savepoint
    yield* Session.set(Crom, "Zope")
    yield* Session.set(Lech, "Quack")
    const sp2 = yield* Session.savepoint
    yield* Session.set(Crom, "PHP")
    yield* Session.savepoint
    yield* sp2.rollback
    const atSp2 = [yield* Session.get(Crom), yield* Session.get(Lech)]
    yield* Session.set(Crom, "Zorglub")
    yield* Session.set(Lech, "Zimbabwe")
    yield* sp1.rollback
    return { session: yield* Session.Session, atSp2 }
  }))

  const refused = yield* Effect.flip(third.session.set("fail", true))
  const body = Option.getOrElse(yield* third.session.get(Crom), () => "") +
    Option.getOrElse(yield* third.session.get(Lech), () => "")
  return { afterAbort, atSp2: third.atSp2, refused, body }
})

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
