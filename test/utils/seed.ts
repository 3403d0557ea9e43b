/**
 * The seed's two apps (cromlech.wsgistate) as units of work, for the tests that run them: the
 * core tests (test/seed.test.ts) and the conformance suite, once per store.
 */
import { Data, Effect, Option, Schema } from "effect"
import { Session } from "effect-session"

export class Failed extends Data.TaggedError("Failed")<{}> {}

export const Path = Session.key("path", Schema.Array(Schema.String))
const Crom = Session.key("crom", Schema.String)
const Lech = Session.key("lech", Schema.String)

// the seed's simple_app, as a unit of work: append the path; "/fail" appends and then fails
export const visit = (path: string) =>
  Effect.gen(function*() {
    const history = [...yield* Session.getOrElse(Path, () => []), path]
    yield* Session.set(Path, history)
    if (path === "/fail") return yield* new Failed()
    return history.join(", ")
  }).pipe(Session.transaction)

// the seed's transactional_app: three units of work, then a write through a leaked handle
export const transactional = Effect.gen(function*() {
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
