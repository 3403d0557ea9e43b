/**
 * A model-based property test of a session's life on one long-lived manager (`Session.open(id)`
 * provided around many units): writes, regenerate, destroy, units that fail, and clock moves past
 * the idle and the absolute timeouts. A tiny reference model says what every unit must see, what
 * the store must hold afterwards, and when the app must be told of an expiry. (The savepoint and
 * nesting rules inside one unit are the subject of session.model.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import type { HashMap } from "effect"
import { Effect, FastCheck as fc, Layer, Option, Redacted, TestClock, TestContext } from "effect"
import { Session, SessionManager, SessionStore } from "effect-session"

const IDLE = 30 // minutes
const ABSOLUTE = 120
const MINUTE = 60_000

type UnitOp =
  | { readonly t: "set"; readonly k: string; readonly v: number }
  | { readonly t: "remove"; readonly k: string }
  | { readonly t: "regenerate" }
  | { readonly t: "destroy" }
type Step =
  | { readonly t: "unit"; readonly ops: ReadonlyArray<UnitOp>; readonly fail: boolean }
  | { readonly t: "wait"; readonly minutes: number }

const key = fc.constantFrom("a", "b")
const unitOp: fc.Arbitrary<UnitOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("set" as const), k: key, v: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("remove" as const), k: key }) },
  { weight: 1, arbitrary: fc.constant({ t: "regenerate" as const }) },
  { weight: 1, arbitrary: fc.constant({ t: "destroy" as const }) }
)
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("unit" as const),
      ops: fc.array(unitOp, { maxLength: 4 }),
      fail: fc.boolean()
    })
  },
  // past the idle timeout, just under it, and long enough for the absolute lifetime to end
  { weight: 2, arbitrary: fc.record({ t: fc.constant("wait" as const), minutes: fc.constantFrom(5, 20, 29, 31, 61) }) }
)

// ---------------------------------------------------------------------------------------------
// the reference model
// ---------------------------------------------------------------------------------------------

type Data = ReadonlyMap<string, number>
interface Stored {
  readonly data: Data
  readonly createdAt: number
  readonly expiresAt: number
}

class Model {
  now = 0
  /** the manager's id: the chosen one, until a regenerate moves the session to a random one */
  id = "chosen"
  /** the session the manager holds: stored (a record) or new (not stored yet, begun at `begunAt`) */
  stored: Stored | undefined = undefined
  begunAt = 0
  expiries = 0

  private deadline(createdAt: number): number {
    return Math.min(this.now + IDLE * MINUTE, createdAt + ABSOLUTE * MINUTE)
  }

  /** A unit's first touch: what it sees. An expired session is reported once and replaced. */
  begin(): Data {
    if (this.stored !== undefined && this.stored.expiresAt <= this.now) {
      this.stored = undefined
      this.begunAt = this.now
      this.expiries++
    } else if (this.stored === undefined && this.begunAt + IDLE * MINUTE <= this.now) {
      // a new session never stored: nothing to report, it simply starts again
      this.begunAt = this.now
    }
    return this.stored?.data ?? new Map()
  }

  /** The end of a unit that ran `ops` (all of them touch the session) and committed. */
  commit(ops: ReadonlyArray<UnitOp>, base: Data): void {
    let data = new Map(base)
    let regenerate = false
    let destroy = false
    for (const o of ops) {
      if (o.t === "set") data.set(o.k, o.v)
      else if (o.t === "remove") data.delete(o.k)
      else if (o.t === "regenerate") regenerate = true
      else {
        destroy = true
        regenerate = false
        data = new Map()
      }
    }
    if (destroy) {
      this.stored = undefined
      this.begunAt = this.now
      this.id = "random"
      if (data.size > 0) this.stored = { data, createdAt: this.now, expiresAt: this.deadline(this.now) }
      return
    }
    if (regenerate) this.id = "random"
    if (this.stored === undefined) {
      // never save an empty session
      if (data.size > 0) this.stored = { data, createdAt: this.begunAt, expiresAt: this.deadline(this.begunAt) }
      return
    }
    // a save or (touchInterval 0) a touch: either way the idle deadline moves
    this.stored = { data, createdAt: this.stored.createdAt, expiresAt: this.deadline(this.stored.createdAt) }
  }
}

// ---------------------------------------------------------------------------------------------
// the real thing
// ---------------------------------------------------------------------------------------------

class Fail {
  readonly _tag = "Fail"
}

const toMap = (entries: HashMap.HashMap<string, unknown>): Data =>
  new Map(Array.from(entries, ([k, v]) => [k, v as number] as const))

const runOp = (o: UnitOp) => {
  switch (o.t) {
    case "set":
      return Session.set(o.k, o.v)
    case "remove":
      return Session.remove(o.k)
    case "regenerate":
      return Session.regenerate
    case "destroy":
      return Session.destroy
  }
}

const check = (steps: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const model = new Model()
    const store = yield* SessionStore.SessionStore
    const manager = yield* SessionManager.SessionManager
    for (const s of steps) {
      if (s.t === "wait") {
        model.now += s.minutes * MINUTE
        yield* TestClock.adjust(`${s.minutes} minutes`)
        continue
      }
      const expected = model.begin()
      const result = yield* Effect.gen(function*() {
        // the unit's first touch: what it sees
        expect(toMap(yield* Session.entries)).toEqual(expected)
        for (const o of s.ops) yield* runOp(o)
        if (s.fail) return yield* Effect.fail(new Fail())
      }).pipe(Session.transaction, Effect.either)
      expect(result._tag).toBe(s.fail ? "Left" : "Right")
      if (!s.fail) model.commit(s.ops, expected)
      // the manager tells of every expiry; the chosen id is kept until a regenerate or destroy
      const expired = yield* Session.expired
      expect(Option.isSome(expired)).toBe(model.expiries > 0)
      const id = Redacted.value(yield* manager.id)
      if (model.id === "chosen") expect(id).toBe("chosen")
      else expect(id).not.toBe("chosen")
      // the store holds what the model says, under the manager's id, with the model's deadline
      const record = yield* store.load(id)
      const live = Option.filter(record, (r) => r.expiresAt > model.now)
      expect(Option.map(live, (r) => new Map(Object.entries(r.data)))).toEqual(
        Option.map(Option.fromNullable(model.stored), (m) => m.data)
      )
      expect(Option.map(live, (r) => r.expiresAt)).toEqual(
        Option.map(Option.fromNullable(model.stored), (m) => m.expiresAt)
      )
    }
  }).pipe(
    Effect.provide(
      Session.open("chosen", {
        idleTimeout: `${IDLE} minutes`,
        absoluteTimeout: `${ABSOLUTE} minutes`,
        touchInterval: 0
      })
        .pipe(Layer.provideMerge(SessionStore.layerMemory()))
    ),
    Effect.provide(TestContext.TestContext)
  )

describe("Session: a long-lived manager's life, model-based", () => {
  const RUNS = 150
  it(
    "random units, regenerates, destroys and clock moves agree with the reference model",
    { timeout: 180_000 },
    async () => {
      let cases = 0
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
          cases++
          await Effect.runPromise(check(steps))
        }),
        { numRuns: RUNS }
      )
      expect(cases).toBeGreaterThanOrEqual(RUNS)
    }
  )
})
