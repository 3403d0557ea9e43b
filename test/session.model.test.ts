/**
 * A model-based property test: random sequences of unit-of-work operations run against the real
 * Session (memory store) and against a tiny reference model of the semantics; after every operation
 * the two must agree on the outcome (ok or which error) and on the data.
 */
import { describe, expect, it } from "@effect/vitest"
import type { HashMap } from "effect"
import { Effect, FastCheck as fc, Layer, Option } from "effect"
import type { SessionManager } from "effect-session"
import { Session, SessionStore } from "effect-session"

type Op =
  | { readonly t: "set"; readonly k: string; readonly v: number }
  | { readonly t: "remove"; readonly k: string }
  | { readonly t: "clear" }
  | { readonly t: "savepoint" }
  | { readonly t: "rollback"; readonly i: number }
  | { readonly t: "abort" }
  | { readonly t: "nested"; readonly ops: ReadonlyArray<Op>; readonly fail: boolean }
  | { readonly t: "commit" }
  | { readonly t: "fail" }

const key = fc.constantFrom("a", "b", "c")
const leaf: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant("set" as const), k: key, v: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("remove" as const), k: key }) },
  { weight: 1, arbitrary: fc.constant({ t: "clear" as const }) },
  { weight: 3, arbitrary: fc.constant({ t: "savepoint" as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("rollback" as const), i: fc.nat(8) }) },
  { weight: 1, arbitrary: fc.constant({ t: "abort" as const }) }
)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: leaf },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("nested" as const),
      ops: fc.array(leaf, { maxLength: 5 }),
      fail: fc.boolean()
    })
  },
  { weight: 2, arbitrary: fc.constant({ t: "commit" as const }) },
  { weight: 1, arbitrary: fc.constant({ t: "fail" as const }) }
)

// ---------------------------------------------------------------------------------------------
// the reference model
// ---------------------------------------------------------------------------------------------

type Data = ReadonlyMap<string, number>
interface ModelSavepoint {
  readonly data: Data
  valid: boolean
}
interface ModelUnit {
  status: "open" | "aborted"
  data: Data
  readonly all: Array<ModelSavepoint> // every savepoint taken, in order (nested ones included)
  visible: Array<ModelSavepoint> // the ones the app holds
}

class Model {
  committed: Data = new Map()
  newUnit = (): ModelUnit => ({ status: "open", data: this.committed, all: [], visible: [] })
  private write(u: ModelUnit, f: (d: Map<string, number>) => void): string {
    if (u.status !== "open") return "SessionStateError"
    const d = new Map(u.data)
    f(d)
    u.data = d
    return "ok"
  }
  rollback(u: ModelUnit, sp: ModelSavepoint): string {
    if (u.status !== "open" || !sp.valid) return "SessionStateError"
    for (const later of u.all.slice(u.all.indexOf(sp) + 1)) later.valid = false
    u.data = sp.data
    return "ok"
  }
  apply(u: ModelUnit, o: Op): string {
    switch (o.t) {
      case "set":
        return this.write(u, (d) => d.set(o.k, o.v))
      case "remove":
        return this.write(u, (d) => d.delete(o.k))
      case "clear":
        return this.write(u, (d) => d.clear())
      case "savepoint": {
        if (u.status !== "open") return "SessionStateError"
        const sp = { data: u.data, valid: true }
        u.all.push(sp)
        u.visible.push(sp)
        return "ok"
      }
      case "rollback": {
        if (u.visible.length === 0) return "skip"
        return this.rollback(u, u.visible[o.i % u.visible.length]!)
      }
      case "abort":
        if (u.status === "open") {
          u.status = "aborted"
          u.data = this.committed
          for (const sp of u.all) sp.valid = false
        }
        return "ok"
      case "nested": {
        if (u.status === "open") {
          const sp = { data: u.data, valid: true }
          u.all.push(sp)
          // the nested effect holds none of the outer savepoints
          const outer = u.visible
          u.visible = []
          for (const inner of o.ops) this.apply(u, inner)
          u.visible = outer
          if (o.fail && u.status === "open" && sp.valid) this.rollback(u, sp)
        } else {
          // not inside an open unit: the nested transaction is a unit of its own
          const inner = this.newUnit()
          for (const i of o.ops) this.apply(inner, i)
          if (!o.fail && inner.status === "open") this.committed = inner.data
        }
        return o.fail ? "Nested" : "ok"
      }
      case "commit":
      case "fail":
        return "boundary"
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the real thing
// ---------------------------------------------------------------------------------------------

class Nested {
  readonly _tag = "Nested"
}
class Fail {
  readonly _tag = "Fail"
}

const toMap = (entries: HashMap.HashMap<string, unknown>): Data =>
  new Map(Array.from(entries, ([k, v]) => [k, v as number] as const))

const runLeaf = (
  o: Op,
  savepoints: Array<Session.Savepoint>
): Effect.Effect<string, never, Session.Session | SessionManager.SessionManager> => {
  const outcome = <E extends { readonly _tag: string }>(e: Effect.Effect<unknown, E, Session.Session>) =>
    Effect.match(e, { onFailure: (err) => err._tag, onSuccess: () => "ok" })
  switch (o.t) {
    case "set":
      return outcome(Session.set(o.k, o.v))
    case "remove":
      return outcome(Session.remove(o.k))
    case "clear":
      return outcome(Session.clear)
    case "savepoint":
      return outcome(Effect.tap(Session.savepoint, (sp) => savepoints.push(sp)))
    case "rollback":
      return savepoints.length === 0 ? Effect.succeed("skip") : outcome(savepoints[o.i % savepoints.length]!.rollback)
    case "abort":
      return outcome(Session.abort)
    case "nested": {
      const inner: Array<Session.Savepoint> = []
      return Effect.match(
        Session.transaction(
          Effect.zipRight(
            Effect.forEach(o.ops, (i) => runLeaf(i, inner)),
            o.fail ? Effect.fail(new Nested()) : Effect.void
          )
        ),
        { onFailure: (e) => e._tag, onSuccess: () => "ok" }
      )
    }
    case "commit":
    case "fail":
      return Effect.succeed("boundary")
  }
}

const check = (ops: ReadonlyArray<Op>) =>
  Effect.gen(function*() {
    const model = new Model()
    const store = yield* SessionStore.SessionStore
    let unit = model.newUnit()
    let segment: Array<Op> = []
    const runSegment = (segmentOps: ReadonlyArray<Op>, end: "commit" | "fail") =>
      Effect.gen(function*() {
        const savepoints: Array<Session.Savepoint> = []
        for (const o of segmentOps) {
          const expected = model.apply(unit, o)
          const actual = yield* runLeaf(o, savepoints)
          expect(actual).toBe(expected)
          expect(toMap(yield* Session.entries)).toEqual(unit.data)
        }
        if (end === "fail") return yield* Effect.fail(new Fail())
      }).pipe(Session.transaction, Effect.either)
    const finish = (end: "commit" | "fail") =>
      Effect.gen(function*() {
        const result = yield* runSegment(segment, end)
        if (end === "commit") {
          expect(result._tag).toBe("Right")
          if (unit.status === "open") model.committed = unit.data
        } else {
          expect(result._tag).toBe("Left")
        }
        const stored = yield* store.load("model")
        const storedData = Option.match(stored, {
          onNone: () => new Map(),
          onSome: (r) => new Map(Object.entries(r.data) as Array<[string, number]>)
        })
        expect(storedData).toEqual(model.committed)
        segment = []
        unit = model.newUnit()
      })
    for (const o of ops) {
      if (o.t === "commit" || o.t === "fail") yield* finish(o.t)
      else segment.push(o)
    }
    yield* finish("commit")
  }).pipe(Effect.provide(Session.open("model").pipe(Layer.provideMerge(SessionStore.layerMemory()))))

describe("Session: model-based property test", () => {
  it("random sequences of operations agree with the reference model", async () => {
    let cases = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        cases++
        await Effect.runPromise(check(ops))
      }),
      { numRuns: 3000 }
    )
    expect(cases).toBeGreaterThanOrEqual(3000)
  })
})
