/**
 * A large session is not rebuilt on every load (issue #16): the memory store keeps the decoded data
 * of its recently used large sessions, the snapshot of a frozen record's data is built once, and a
 * session's size goes from the unit that committed it to the next. What must not change with it:
 * snapshots stay immutable, savepoints exact, typed keys decoded on get, `maxBytes` counted exactly.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Layer, Option, Schema } from "effect"
import { Session, SessionError, SessionStore } from "effect-session"
import { dataSize } from "../src/internal/size.js"
import { fromRecord, isSessionData, toRecord } from "../src/internal/snapshot.js"

const entries = (n: number, prefix = "value"): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `${prefix} number ${i}`]))

const record = (data: Record<string, unknown>): SessionStore.SessionRecord => ({
  data,
  version: 1,
  createdAt: 0,
  expiresAt: 1_000_000
})

describe("snapshot: the data of a frozen record is built once", () => {
  it("a frozen record's data gives the same snapshot data every time; an open one is built each time", () => {
    const frozen = record(Object.freeze(entries(100)))
    expect(fromRecord("a", frozen).data).toBe(fromRecord("a", frozen).data)
    const open = record(entries(100))
    const first = fromRecord("a", open).data
    expect(fromRecord("a", open).data).not.toBe(first)
    expect(HashMap.get(first, "k7")).toEqual(Option.some("value number 7"))
  })

  it("a commit's record is frozen and known; its data round-trips to the very same snapshot data", () => {
    const snapshot = fromRecord("a", record(entries(100)))
    const stored = toRecord({ ...snapshot, version: 2 })
    expect(Object.isFrozen(stored.data)).toBe(true)
    expect(isSessionData(stored.data)).toBe(true)
    expect(fromRecord("a", stored).data).toBe(snapshot.data)
    expect(JSON.parse(JSON.stringify(stored.data))).toEqual(entries(100))
    // a caller's own object is not taken for the session's
    expect(isSessionData(Object.freeze(entries(100)))).toBe(false)
  })

  it("a small session's record is not kept (it is rebuilt for less than remembering it costs)", () => {
    const snapshot = fromRecord("a", record({ count: 1 }))
    const stored = toRecord(snapshot)
    expect(isSessionData(stored.data)).toBe(false)
    expect(stored.data).toEqual({ count: 1 })
  })
})

describe("memory store: large sessions kept decoded", () => {
  it.scoped("loads of a large session give one frozen object, equal to what was saved; mutating it throws", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      yield* store.save("big", record(entries(100)), 0)
      const first = Option.getOrThrow(yield* store.load("big"))
      const second = Option.getOrThrow(yield* store.load("big"))
      expect(second.data).toBe(first.data)
      expect(first.data).toEqual(entries(100))
      expect(() => {
        ;(first.data as Record<string, unknown>).k0 = "changed"
      }).toThrow(TypeError)
      expect(Option.getOrThrow(yield* store.load("big")).data.k0).toBe("value number 0")
    }))

  it.scoped("a caller's data is copied on save, never kept: changing it afterwards changes nothing stored", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      const data: Record<string, unknown> = { ...entries(100), list: [1] }
      yield* store.save("big", record(data), 0)
      ;(data.list as Array<number>).push(2)
      data.k0 = "changed"
      const loaded = Option.getOrThrow(yield* store.load("big")).data
      expect([loaded.k0, loaded.list]).toEqual(["value number 0", [1]])
    }))

  it.scoped("a new version, a delete and a clear are seen at once", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      yield* store.save("big", record(entries(100)), 0)
      yield* store.load("big")
      yield* store.save("big", { ...record(entries(100, "other")), version: 2 }, 1)
      expect(Option.map(yield* store.load("big"), (r) => [r.version, r.data.k3])).toEqual(
        Option.some([2, "other number 3"])
      )
      yield* store.delete("big")
      expect(yield* store.load("big")).toEqual(Option.none())
      yield* store.save("big", record(entries(100)), 0)
      yield* store.load("big")
      yield* store.list.clear
      expect(yield* store.load("big")).toEqual(Option.none())
    }))

  it.scoped("more large sessions than it keeps decoded: every one still loads as saved", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory()
      for (let i = 0; i < 300; i++) yield* store.save(`s${i}`, record(entries(40, `s${i}`)), 0)
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 300; i++) {
          expect(Option.map(yield* store.load(`s${i}`), (r) => r.data.k39)).toEqual(Option.some(`s${i} number 39`))
        }
      }
    }))
})

describe("the session over a large session kept decoded", () => {
  const open = (id: string, maxBytes?: number) =>
    Session.open(id, maxBytes === undefined ? {} : { maxBytes }).pipe(Layer.provideMerge(SessionStore.layerMemory()))
  const Num = Session.key("k5", Schema.NumberFromString)

  it.effect("units see each other's commits; savepoints are exact; typed keys decode on get", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Effect.forEach(Object.entries(entries(100)), ([k, v]) => Session.set(k, v)))
      yield* Session.transaction(Session.set(Num, 5))
      const seen = yield* Session.transaction(Effect.gen(function*() {
        const five = yield* Session.get(Num)
        const sp = yield* Session.savepoint
        yield* Session.set("k0", "changed")
        yield* Session.remove("k1")
        const inside = [yield* Session.get("k0"), yield* Session.get("k1")]
        yield* sp.rollback
        return { five, inside, after: [yield* Session.get("k0"), yield* Session.get("k1")] }
      }))
      expect(seen).toEqual({
        five: Option.some(5),
        inside: [Option.some("changed"), Option.none()],
        after: [Option.some("value number 0"), Option.some("value number 1")]
      })
      yield* Session.transaction(Session.set("k2", "two"))
      const entriesNow = yield* Session.transaction(Session.entries)
      expect(HashMap.size(entriesNow)).toBe(100)
      expect(HashMap.get(entriesNow, "k2")).toEqual(Option.some("two"))
      expect(HashMap.get(entriesNow, "k5")).toEqual(Option.some("5"))
      // a stored value that does not decode for its key is a SessionDataError, as always
      yield* Session.transaction(Session.set("k5", "not a number"))
      const error = yield* Effect.flip(Session.transaction(Session.get(Num)))
      expect(error._tag === "SessionDataError" && error.reason).toBe("Decode")
    }).pipe(Effect.provide(open("large"))))

  it.effect("maxBytes counts a session carried from unit to unit exactly as a fresh count does", () =>
    Effect.gen(function*() {
      const data = entries(100)
      yield* Session.transaction(Effect.forEach(Object.entries(data), ([k, v]) => Session.set(k, v)))
      yield* Session.transaction(Session.set("k0", "é".repeat(10)))
      yield* Session.transaction(Session.remove("k1"))
      const store = yield* SessionStore.SessionStore
      const stored = Option.getOrThrow(yield* store.load("counted"))
      // the limit set one byte above what the stored data counts: one more byte fits, two do not
      const counted = dataSize(fromRecord("x", record({ ...stored.data })).data)
      const bigger = (extra: number) =>
        Session.set("k2", `${data.k2}${"x".repeat(extra)}`).pipe(
          Session.transaction,
          Effect.provide(Session.open("counted", { maxBytes: counted + 1 }))
        )
      const tooLarge = yield* Effect.flip(bigger(2))
      expect(tooLarge).toBeInstanceOf(SessionError.SessionDataError)
      yield* bigger(1)
    }).pipe(Effect.provide(open("counted"))))
})

describe("size: the bytes of a session's JSON", () => {
  it("counts the UTF-8 bytes of the data's JSON, escapes and non-ASCII text included", () => {
    const samples: ReadonlyArray<Record<string, unknown>> = [
      {},
      { count: 1 },
      { name: "plain ascii", "a b": "x" },
      { quote: "say \"hi\"", back: "a\\b", tab: "a\tb", newline: "1\n2", nul: "\u0000" },
      { "é": "café", emoji: "🎉", cjk: "漢字", lone: "\ud800" },
      { nested: { list: [1, "two", null, true], deep: { "k\"": "v\\" } }, n: -1.5e-7, big: 1e21 }
    ]
    for (const sample of samples) {
      const json = Buffer.byteLength(JSON.stringify(sample))
      const counted = dataSize(fromRecord("x", record(sample)).data)
      // within one byte: the last entry's comma
      expect(counted === json || counted === json + 1).toBe(true)
    }
  })
})
