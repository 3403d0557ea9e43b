/**
 * docs/savepoints.md. Type-checked by `npm run check`, run by docs/snippets/guide.test.ts.
 */
import { Effect, Schema } from "effect"
import { Session, SessionStore } from "effect-session"

// #region form
const Name = Session.key("name", Schema.String)
const Email = Session.key("email", Schema.String)
const Plan = Session.key("plan", Schema.Literal("free", "pro"))

interface Form {
  readonly name: string
  readonly email: string
  readonly plan: string
}

// a multi-step form: each step is kept only if it validates; a bad step rolls back to the savepoint
// taken before it, and the good steps before it stay
const submit = (form: Form) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    yield* Session.set(Name, form.name)

    const beforeEmail = yield* Session.savepoint
    yield* Session.set(Email, form.email)
    if (!form.email.includes("@")) {
      yield* beforeEmail.rollback
      problems.push("email")
    }

    const beforePlan = yield* Session.savepoint
    if (form.plan === "free" || form.plan === "pro") {
      yield* Session.set(Plan, form.plan)
    } else {
      yield* beforePlan.rollback
      problems.push("plan")
    }
    return problems
  }).pipe(Session.transaction) // the unit commits what survived

export const formDemo = Effect.gen(function*() {
  const problems = yield* submit({ name: "Ada", email: "not-an-email", plan: "pro" })
  const saved = yield* Session.transaction(Effect.all([Session.get(Name), Session.get(Email), Session.get(Plan)]))
  return { problems, saved } // ["email"], [some("Ada"), none(), some("pro")]
}).pipe(Effect.provide(Session.open("form-1")), Effect.provide(SessionStore.layerMemory()))
// #endregion form

// #region rules
export const rules = Effect.gen(function*() {
  yield* Session.set("step", 1)
  const sp1 = yield* Session.savepoint
  yield* Session.set("step", 2)
  const sp2 = yield* Session.savepoint
  yield* Session.set("step", 3)

  yield* sp2.rollback // step = 2
  yield* sp2.rollback // again: a savepoint can be rolled back to many times
  yield* sp1.rollback // step = 1; this invalidates sp2, taken after sp1
  const invalid = yield* Effect.flip(sp2.rollback) // SessionStateError, reason "InvalidSavepoint"
  const step = yield* Session.get("step")
  return { step, reason: invalid.reason } // { step: some(1), reason: "InvalidSavepoint" }
}).pipe(
  Session.transaction, // its commit (or abort) invalidates every savepoint of the unit
  Effect.provide(Session.open("rules")),
  Effect.provide(SessionStore.layerMemory())
)
// #endregion rules

// #region nested
// Session.transaction inside an open unit is a savepoint too: rolled back when it fails
const tryStep = <A, E, R>(step: Effect.Effect<A, E, R>) => Session.transaction(step).pipe(Effect.option) // failed: its writes are undone, the unit goes on
// #endregion nested

export const nestedDemo = Effect.gen(function*() {
  yield* tryStep(Effect.zipRight(Session.set("x", 1), Effect.fail("bad")))
  yield* tryStep(Session.set("y", 2))
  return yield* Session.keys
}).pipe(Session.transaction, Effect.provide(Session.open("nested")), Effect.provide(SessionStore.layerMemory()))
