/**
 * The seed's scenarios (cromlech.wsgistate), as a workflow without HTTP, with the handlers of the
 * example app (examples/app.ts):
 *
 * - a history of visited paths, one unit of work per visit: "/fail" appends and then fails, so its
 *   append is discarded;
 * - three units of work on one session: abort, commit, savepoints; then a write through a handle
 *   whose unit is closed, which is refused.
 *
 * Run: npx tsx examples/seed.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Session, SessionStore } from "effect-session"
import { history, Path, transactionalWithRefusal } from "./app.js"

const program = Effect.gen(function*() {
  for (const name of ["foo", "bar", "fail"]) {
    const result = yield* Effect.either(Session.transaction(history(name)))
    yield* Console.log(
      `visit /${name}: ${result._tag === "Right" ? result.right : `failed (${result.left._tag}), changes discarded`}`
    )
  }
  yield* Console.log(`history now: ${(yield* Session.transaction(Session.getOrElse(Path, () => []))).join(", ")}`)
  const { body, refused } = yield* transactionalWithRefusal
  yield* Console.log(`write after the unit closed: ${refused._tag}: ${refused.message}`)
  yield* Console.log(body)
})

program.pipe(
  Effect.provide(Session.open("seed").pipe(Layer.provide(SessionStore.layerMemory()))),
  NodeRuntime.runMain
)
