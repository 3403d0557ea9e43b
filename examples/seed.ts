/**
 * The seed's scenarios (cromlech.wsgistate), as a workflow without HTTP:
 *
 * - a history of visited paths, one unit of work per visit: "/fail" appends and then fails, so its
 *   append is discarded;
 * - three units of work on one session: abort, commit, savepoints; then a write through a handle
 *   whose unit is closed, which is refused.
 *
 * Run: npx tsx examples/seed.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect, Layer, Option, Schema } from "effect"
import { Session, SessionStore } from "effect-session"

class Failed extends Data.TaggedError("Failed")<{}> {}

const Path = Session.key("path", Schema.Array(Schema.String))
const Crom = Session.key("crom", Schema.String)
const Lech = Session.key("lech", Schema.String)

const visit = (path: string) =>
  Effect.gen(function*() {
    const history = [...(yield* Session.getOrElse(Path, () => [])), path]
    yield* Session.set(Path, history)
    if (path === "/fail") return yield* new Failed()
    return history.join(", ")
  }).pipe(Session.transaction)

const transactional = Effect.gen(function*() {
  yield* Session.transaction(Effect.zipRight(Session.set(Crom, "Pyramid"), Session.abort))
  yield* Session.transaction(Session.set(Crom, "Crom"))
  const unit = yield* Session.transaction(Effect.gen(function*() {
    yield* Session.set(Lech, "Lech")
    const sp1 = yield* Session.savepoint
    yield* Session.set(Crom, "Zope")
    yield* Session.set(Lech, "Quack")
    const sp2 = yield* Session.savepoint
    yield* Session.set(Crom, "PHP")
    yield* Session.savepoint
    yield* sp2.rollback
    yield* Session.set(Crom, "Zorglub")
    yield* Session.set(Lech, "Zimbabwe")
    yield* sp1.rollback
    return yield* Session.Session // the unit's handle, leaked on purpose
  }))
  const refused = yield* Effect.flip(unit.set(Crom, "late"))
  yield* Console.log(`write after the unit closed: ${refused._tag}: ${refused.message}`)
  const crom = Option.getOrElse(yield* unit.get(Crom), () => "")
  const lech = Option.getOrElse(yield* unit.get(Lech), () => "")
  return crom + lech
})

const program = Effect.gen(function*() {
  for (const path of ["/foo", "/bar", "/fail"]) {
    const result = yield* Effect.either(visit(path))
    yield* Console.log(
      `visit ${path}: ${result._tag === "Right" ? result.right : `failed (${result.left._tag}), changes discarded`}`
    )
  }
  yield* Console.log(`history now: ${(yield* Session.transaction(Session.getOrElse(Path, () => []))).join(", ")}`)
  yield* Console.log(yield* transactional)
})

program.pipe(
  Effect.provide(Session.open("seed").pipe(Layer.provide(SessionStore.layerMemory()))),
  NodeRuntime.runMain
)
