/**
 * Savepoints in a multi-step form (a sign-up wizard), as a workflow that prints its trace.
 *
 * The whole wizard is one unit of work: it commits when the user finishes and is discarded when
 * they cancel. Each step takes a savepoint before it writes; a step whose input does not validate
 * is rolled back to its own savepoint, so the steps before it are kept and nothing of the rejected
 * step remains. "Back" rolls back to the savepoint of an earlier step (the later savepoints become
 * invalid). The plan step shows the other form: a nested `Session.transaction`, which is a
 * savepoint rolled back automatically when the step fails.
 *
 * Run: npx tsx examples/multi-step-form.ts
 */
import { Console, Effect, Either, Option, ParseResult, Schema } from "effect"
import { Session, SessionStore } from "effect-session"

// ---------------------------------------------------------------------------------------------
// the steps: a schema each, a typed session key each
// ---------------------------------------------------------------------------------------------

const Account = Schema.Struct({
  email: Schema.String.pipe(Schema.pattern(/^[^@\s]+@[^@\s]+\.[a-z]+$/, { message: () => "not an email address" }))
})
const Address = Schema.Struct({
  street: Schema.String.pipe(Schema.minLength(1, { message: () => "required" })),
  zip: Schema.String.pipe(Schema.pattern(/^\d{5}$/, { message: () => "five digits" }))
})
const Plan = Schema.Struct({
  plan: Schema.Literal("free", "pro", "team").annotations({
    message: () => ({ message: "free, pro or team", override: true })
  }),
  seats: Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 50, { message: () => "1 to 50" }))
})

const AccountKey = Session.key("wizard.account", Account)
const AddressKey = Session.key("wizard.address", Address)
const PlanKey = Session.key("wizard.plan", Plan)
/** The furthest step the user completed. */
const Progress = Session.key("wizard.step", Schema.Int)
/** Every answer as entered, for the review page. */
const Answers = Session.key("wizard.answers", Schema.Record({ key: Schema.String, value: Schema.String }))

type Input = Record<string, string>

/** Validation errors as `field: message`. */
const validate = <A, I>(schema: Schema.Schema<A, I>, input: Input) =>
  Schema.decodeUnknown(schema, { errors: "all" })(input).pipe(
    Effect.mapError((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".")}: ${i.message}`).join(", ")
    )
  )

/** What the step writes: its answers, the progress, and (once valid) its typed value. */
const record = <A, I>(n: number, key: Session.SessionKey<A, I>, schema: Schema.Schema<A, I>, input: Input) =>
  Effect.gen(function*() {
    yield* Session.modify(Answers, (answers) => ({ ...Option.getOrElse(answers, () => ({})), ...input }))
    yield* Session.set(Progress, n)
    const value = yield* validate(schema, input)
    yield* Session.set(key, value)
  })

/** A step with an explicit savepoint: on a validation failure, roll back to it. Gives the savepoint ("Back"). */
const step = <A, I>(
  n: number,
  name: string,
  key: Session.SessionKey<A, I>,
  schema: Schema.Schema<A, I>,
  input: Input
) =>
  Effect.gen(function*() {
    const savepoint = yield* Session.savepoint
    const result = yield* Effect.either(record(n, key, schema, input))
    if (Either.isLeft(result)) {
      yield* savepoint.rollback
      yield* Console.log(`  step ${n} ${name}: invalid (${result.left}), rolled back to the savepoint of step ${n}`)
    } else {
      yield* Console.log(`  step ${n} ${name}: ok`)
    }
    return savepoint
  })

/** A step as a nested transaction: a savepoint that is rolled back when the step fails. */
const nestedStep = <A, I>(
  n: number,
  name: string,
  key: Session.SessionKey<A, I>,
  schema: Schema.Schema<A, I>,
  input: Input
) =>
  Effect.gen(function*() {
    const result = yield* Effect.either(Session.transaction(record(n, key, schema, input)))
    if (Either.isLeft(result)) {
      const why = typeof result.left === "string" ? result.left : result.left._tag
      yield* Console.log(`  step ${n} ${name} (nested transaction): invalid (${why}), rolled back`)
    } else {
      yield* Console.log(`  step ${n} ${name} (nested transaction): ok`)
    }
  })

/** The session's wizard data, one line. */
const summary = Effect.gen(function*() {
  const show = <A, I>(name: string, key: Session.SessionKey<A, I>) =>
    Effect.map(Session.get(key), (v) => `${name}=${Option.match(v, { onNone: () => "-", onSome: JSON.stringify })}`)
  const fields = yield* Effect.all([
    show("step", Progress),
    show("account", AccountKey),
    show("address", AddressKey),
    show("plan", PlanKey),
    show("answers", Answers)
  ])
  return fields.join(" ")
})

// ---------------------------------------------------------------------------------------------
// the workflow
// ---------------------------------------------------------------------------------------------

class Cancelled extends Schema.TaggedError<Cancelled>()("Cancelled", {}) {}

const wizard = Effect.gen(function*() {
  yield* Console.log("wizard 1 (one unit of work)")
  const step1 = yield* step(1, "account", AccountKey, Account, { email: "ada@example.com" })
  yield* step(2, "address", AddressKey, Address, { street: "", zip: "12A" })
  yield* Console.log(`    ${yield* summary}`)
  const step2 = yield* step(2, "address", AddressKey, Address, { street: "1 Analytical Row", zip: "10001" })
  yield* nestedStep(3, "plan", PlanKey, Plan, { plan: "gold", seats: "0" })
  yield* Console.log(`    ${yield* summary}`)
  yield* nestedStep(3, "plan", PlanKey, Plan, { plan: "team", seats: "5" })
  // "Back": as before the step was entered; a rollback invalidates the savepoints taken after it
  yield* step2.rollback
  yield* Console.log(`  back to step 2: ${yield* summary}`)
  yield* step1.rollback
  yield* Console.log(`  back to step 1: ${yield* summary}`)
  const stale = yield* Effect.flip(step2.rollback)
  yield* Console.log(`  the savepoint of step 2, taken after step 1's, is now invalid: ${stale._tag} (${stale.reason})`)
  yield* step(1, "account", AccountKey, Account, { email: "ada@example.org" })
  yield* step(2, "address", AddressKey, Address, { street: "12 Engine Street", zip: "10002" })
  yield* nestedStep(3, "plan", PlanKey, Plan, { plan: "team", seats: "5" })
  yield* Console.log("  finish: commit")
}).pipe(Session.transaction)

const cancelled = Effect.gen(function*() {
  yield* Console.log("wizard 2 (one unit of work)")
  yield* step(1, "account", AccountKey, Account, { email: "bob@example.com" })
  yield* Console.log("  cancel: the unit fails, nothing of it is saved")
  return yield* new Cancelled()
}).pipe(Session.transaction, Effect.catchTag("Cancelled", () => Effect.void))

const program = Effect.gen(function*() {
  yield* wizard
  yield* Console.log(`saved: ${yield* Session.transaction(summary)}`)
  yield* cancelled
  yield* Console.log(`saved: ${yield* Session.transaction(summary)}`)
}).pipe(
  Effect.provide(Session.open("wizard-of-ada")),
  Effect.provide(SessionStore.layerMemory())
)

Effect.runPromise(program)
