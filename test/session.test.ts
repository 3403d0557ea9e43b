import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Deferred, Effect, Exit, Fiber, HashMap, Layer, Option, Redacted, Schema, TestClock } from "effect"
import { Session, SessionError, SessionManager, SessionStore } from "effect-session"
import { failingSaves } from "./utils/stores.js"

class Boom extends Data.TaggedError("Boom")<{}> {}

const Count = Session.key("count", Schema.Number)
const When = Session.key("when", Schema.DateFromNumber)

const memory = SessionStore.layerMemory()
const open = (id: string, options?: SessionManager.SessionOptions) =>
  Session.open(id, options).pipe(Layer.provideMerge(memory))

const stored = (id: string) =>
  Effect.flatMap(SessionStore.SessionStore, (store) => store.load(id)).pipe(Effect.map(Option.map((r) => r.data)))

describe("Session: commit and discard", () => {
  it.effect("a unit that succeeds commits; one that fails (error or defect) leaves the store as it was", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 1))
      expect(yield* stored("a")).toEqual(Option.some({ count: 1 }))
      const failed = yield* Effect.exit(Session.transaction(Effect.zipRight(Session.set(Count, 2), new Boom())))
      expect(Exit.isFailure(failed)).toBe(true)
      const died = yield* Effect.exit(Session.transaction(Effect.zipRight(Session.set(Count, 3), Effect.die("x"))))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      expect(yield* stored("a")).toEqual(Option.some({ count: 1 }))
      expect(yield* Session.transaction(Session.get(Count))).toEqual(Option.some(1))
    }).pipe(Effect.provide(open("a"))))

  it.effect("a unit interrupted after writing leaves the store as it was", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 1))
      const written = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Session.transaction(Effect.gen(function*() {
        yield* Session.set(Count, 99)
        yield* Deferred.succeed(written, undefined)
        return yield* Effect.never
      })))
      yield* Deferred.await(written)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* stored("i")).toEqual(Option.some({ count: 1 }))
    }).pipe(Effect.provide(open("i"))))

  it.effect("a unit that never touches the session reads and writes nothing", () =>
    Effect.gen(function*() {
      const manager = yield* SessionManager.SessionManager
      yield* Session.transaction(Effect.void)
      expect(manager.outcome().touched).toBe(false)
      expect(yield* stored("untouched")).toEqual(Option.none())
    }).pipe(Effect.provide(open("untouched"))))

  it.effect("an empty new session is never saved", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Effect.zipRight(Session.set(Count, 1), Session.remove(Count)))
      expect(yield* stored("empty")).toEqual(Option.none())
    }).pipe(Effect.provide(open("empty"))))

  it.effect("abort drops the changes now and refuses later writes; reads show the committed data", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 1))
      const result = yield* Session.transaction(Effect.gen(function*() {
        yield* Session.set(Count, 2)
        yield* Session.abort
        const afterAbort = yield* Session.get(Count)
        const refused = yield* Effect.flip(Session.set(Count, 3))
        yield* Session.abort // idempotent
        return { afterAbort, refused, status: yield* Session.status }
      }))
      expect(result.afterAbort).toEqual(Option.some(1))
      expect(result.refused._tag === "SessionStateError" && result.refused.reason).toBe("WriteNotAllowed")
      expect(result.status).toBe("aborted")
      expect(yield* stored("ab")).toEqual(Option.some({ count: 1 }))
    }).pipe(Effect.provide(open("ab"))))

  it.effect("every write on a committed unit fails with SessionStateError", () =>
    Effect.gen(function*() {
      const unit = yield* Session.transaction(Effect.zipRight(Session.set(Count, 1), Session.Session))
      expect(yield* unit.status).toBe("committed")
      const attempts = [
        unit.set(Count, 2),
        unit.set("x", 1),
        unit.modify(Count, () => 3),
        unit.remove(Count),
        unit.clear,
        unit.getOrSet("y", () => 1),
        unit.savepoint,
        unit.regenerate,
        unit.destroy,
        unit.bindUser("u"),
        unit.abort
      ]
      for (const attempt of attempts) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("SessionStateError")
        expect(error.message).toBe("Session's current state disallows writing")
      }
      expect(yield* unit.get(Count)).toEqual(Option.some(1))
    }).pipe(Effect.provide(open("closed"))))

  it.effect("a failed commit reaches the caller as a typed error and the unit is discarded", () => {
    const failing = failingSaves(new SessionError.SessionStoreError({ store: "failing", operation: "save" }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Session.transaction(Effect.zipRight(Session.set(Count, 1), Session.Session)))
      expect(error._tag).toBe("SessionStoreError")
      expect(error.message).toBe(`Session store "failing" failed on save`)
    }).pipe(Effect.provide(Session.open("f").pipe(Layer.provide(failing))))
  })

  it.effect("the layer form commits when its scope closes with success and discards on failure", () =>
    Effect.gen(function*() {
      yield* Session.set(Count, 5).pipe(Effect.provide(Session.layer))
      expect(yield* stored("layer")).toEqual(Option.some({ count: 5 }))
      yield* Effect.exit(Effect.zipRight(Session.set(Count, 6), new Boom()).pipe(Effect.provide(Session.layer)))
      expect(yield* stored("layer")).toEqual(Option.some({ count: 5 }))
    }).pipe(Effect.provide(open("layer"))))

  it.effect("the layer form turns a failed commit into a defect, never silence", () => {
    const failing = failingSaves(new SessionError.SessionStoreError({ store: "failing", operation: "save" }))
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(Session.set(Count, 1).pipe(Effect.provide(Session.layer)))
      expect(Exit.isFailure(exit)).toBe(true)
      const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
      expect(Option.getOrUndefined(defect)).toBeInstanceOf(Session.SessionCommitFailed)
    }).pipe(Effect.provide(Session.open("lf").pipe(Layer.provide(failing))))
  })
})

describe("Session: savepoints (Zope semantics)", () => {
  const inUnit = <A, E>(self: Effect.Effect<A, E, Session.Session>) =>
    Session.transaction(self).pipe(Effect.provide(open("sp")))

  it.effect("rollback restores the data as it was at the savepoint", () =>
    inUnit(Effect.gen(function*() {
      yield* Session.set(Count, 1)
      const sp = yield* Session.savepoint
      yield* Session.set(Count, 2)
      yield* Session.set("other", "x")
      yield* sp.rollback
      expect(yield* Session.get(Count)).toEqual(Option.some(1))
      expect(yield* Session.has("other")).toBe(false)
    })))

  it.effect("a savepoint may be rolled back to many times", () =>
    inUnit(Effect.gen(function*() {
      yield* Session.set(Count, 1)
      const sp = yield* Session.savepoint
      for (const n of [2, 3, 4]) {
        yield* Session.set(Count, n)
        yield* sp.rollback
        expect(yield* Session.get(Count)).toEqual(Option.some(1))
      }
      expect(yield* sp.valid).toBe(true)
    })))

  it.effect("rolling back invalidates the savepoints taken after it; rolling back to one of those fails", () =>
    inUnit(Effect.gen(function*() {
      const sp1 = yield* Session.savepoint
      yield* Session.set(Count, 1)
      const sp2 = yield* Session.savepoint
      yield* Session.set(Count, 2)
      const sp3 = yield* Session.savepoint
      yield* sp1.rollback
      expect(yield* sp1.valid).toBe(true)
      expect(yield* sp2.valid).toBe(false)
      expect(yield* sp3.valid).toBe(false)
      const error = yield* Effect.flip(sp2.rollback)
      expect(error._tag).toBe("SessionStateError")
      expect(error.reason).toBe("InvalidSavepoint")
      expect(yield* Session.get(Count)).toEqual(Option.none())
    })))

  it.effect("rolling back to an earlier savepoint keeps the ones before it valid", () =>
    inUnit(Effect.gen(function*() {
      yield* Session.set(Count, 1)
      const sp1 = yield* Session.savepoint
      yield* Session.set(Count, 2)
      const sp2 = yield* Session.savepoint
      yield* Session.set(Count, 3)
      yield* sp2.rollback
      expect(yield* sp1.valid).toBe(true)
      yield* sp1.rollback
      expect(yield* Session.get(Count)).toEqual(Option.some(1))
    })))

  it.effect("commit invalidates every savepoint", () =>
    Effect.gen(function*() {
      const sp = yield* Session.transaction(Effect.zipLeft(Session.savepoint, Session.set(Count, 1)))
      expect(yield* sp.valid).toBe(false)
      const error = yield* Effect.flip(sp.rollback)
      expect(error.reason).toBe("InvalidSavepoint")
    }).pipe(Effect.provide(open("spc"))))

  it.effect("abort invalidates every savepoint", () =>
    inUnit(Effect.gen(function*() {
      const sp = yield* Session.savepoint
      yield* Session.abort
      expect(yield* sp.valid).toBe(false)
      expect((yield* Effect.flip(sp.rollback)).reason).toBe("InvalidSavepoint")
    })))

  it.effect("a failed unit invalidates every savepoint", () =>
    Effect.gen(function*() {
      let taken: Session.Savepoint | undefined
      yield* Effect.exit(Session.transaction(Effect.gen(function*() {
        taken = yield* Session.savepoint
        return yield* new Boom()
      })))
      expect(yield* taken!.valid).toBe(false)
    }).pipe(Effect.provide(open("spf"))))
})

describe("Session: nested transactions", () => {
  it.effect("a nested transaction that fails is rolled back; the outer unit goes on and commits", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Effect.gen(function*() {
        yield* Session.set(Count, 1)
        const inner = yield* Effect.flip(Session.transaction(Effect.zipRight(Session.set(Count, 2), new Boom())))
        expect(inner).toBeInstanceOf(Boom)
        expect(yield* Session.get(Count)).toEqual(Option.some(1))
        yield* Session.transaction(Session.set("kept", true))
      }))
      expect(yield* stored("n")).toEqual(Option.some({ count: 1, kept: true }))
    }).pipe(Effect.provide(open("n"))))

  it.effect("a nested transaction that succeeds is kept, and still discarded if the outer unit fails", () =>
    Effect.gen(function*() {
      yield* Effect.exit(Session.transaction(Effect.gen(function*() {
        yield* Session.transaction(Session.set(Count, 1))
        expect(yield* Session.get(Count)).toEqual(Option.some(1))
        return yield* new Boom()
      })))
      expect(yield* stored("n2")).toEqual(Option.none())
    }).pipe(Effect.provide(open("n2"))))
})

describe("Session: keys and values", () => {
  it.effect("typed keys encode on set and decode on get", () =>
    Effect.gen(function*() {
      const date = new Date(1_700_000_000_000)
      yield* Session.transaction(Session.set(When, date))
      expect(yield* stored("k")).toEqual(Option.some({ when: 1_700_000_000_000 }))
      const read = yield* Session.transaction(Session.get(When))
      expect(Option.map(read, (d) => d.getTime())).toEqual(Option.some(date.getTime()))
    }).pipe(Effect.provide(open("k"))))

  it.effect("stored data that does not decode is a SessionDataError naming the key, not a wrong value", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set("count", "not a number"))
      const error = yield* Effect.flip(Session.transaction(Session.get(Count)))
      expect(error._tag).toBe("SessionDataError")
      if (error._tag === "SessionDataError") {
        expect(error.key).toBe("count")
        expect(error.reason).toBe("Decode")
        expect(error.message).not.toContain("not a number")
        expect(error.message).toContain("at the root")
      }
    }).pipe(Effect.provide(open("kd"))))

  it.effect("a value that is not JSON-compatible is refused at set, with a clear error", () =>
    Effect.gen(function*() {
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const bad: ReadonlyArray<unknown> = [() => 1, new Map(), Number.NaN, undefined, { a: undefined }, cyclic, 1n]
      yield* Session.transaction(Effect.gen(function*() {
        for (const value of bad) {
          const error = yield* Effect.flip(Session.set("bad", value))
          expect(error._tag).toBe("SessionDataError")
          if (error._tag === "SessionDataError") expect(error.reason).toBe("NotJson")
        }
        expect(yield* Session.has("bad")).toBe(false)
      }))
    }).pipe(Effect.provide(open("nj"))))

  it.effect("a typed value that does not encode is refused at set", () =>
    Effect.gen(function*() {
      const Positive = Session.key("p", Schema.Number.pipe(Schema.positive()))
      const error = yield* Effect.flip(Session.transaction(Session.set(Positive, -1)))
      expect(error._tag).toBe("SessionDataError")
      if (error._tag === "SessionDataError") expect(error.reason).toBe("Encode")
    }).pipe(Effect.provide(open("enc"))))

  it.effect("values are isolated: the app can neither change a snapshot through its own references nor through what it read", () =>
    Effect.gen(function*() {
      const list = ["a"]
      yield* Session.transaction(Session.set("list", list))
      list.push("b")
      const read = yield* Session.transaction(Session.get("list"))
      expect(read).toEqual(Option.some(["a"]))
      const value = Option.getOrThrow(read) as Array<string>
      expect(() => value.push("c")).toThrow(TypeError)
      expect(yield* stored("iso")).toEqual(Option.some({ list: ["a"] }))
    }).pipe(Effect.provide(open("iso"))))

  it.effect("getOrSet is setdefault; keys, has, remove, clear, modify", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Effect.gen(function*() {
        expect(yield* Session.getOrSet("path", () => ["/"])).toEqual(["/"])
        expect(yield* Session.getOrSet("path", () => ["/other"])).toEqual(["/"])
        expect(yield* Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)).toBe(1)
        expect(yield* Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)).toBe(2)
        expect([...yield* Session.keys].sort()).toEqual(["count", "path"])
        yield* Session.remove("path")
        expect(yield* Session.has("path")).toBe(false)
        expect(HashMap.size(yield* Session.entries)).toBe(1)
        yield* Session.clear
        expect(yield* Session.keys).toEqual([])
      }))
    }).pipe(Effect.provide(open("ops"))))
})

describe("Session: expiry", () => {
  const options = { idleTimeout: "30 minutes", absoluteTimeout: "2 hours" } as const

  it.effect("idle: a session not used for longer than the idle timeout is replaced, and the timeout carries the old data", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 7)).pipe(Effect.provide(Session.open("idle", options)))
      yield* TestClock.adjust("31 minutes")
      yield* Effect.gen(function*() {
        const expired = yield* Session.expired
        expect(Option.isSome(expired)).toBe(true)
        const timeout = Option.getOrThrow(expired)
        expect(timeout.reason).toBe("Idle")
        expect(Redacted.value(timeout.sessionId)).toBe("idle")
        expect(timeout.expiredAt).toBe(30 * 60 * 1000)
        expect(HashMap.get(timeout.data, "count")).toEqual(Option.some(7))
        expect(timeout.message).not.toContain("idle\"")
        // the unit runs on a fresh session, under the id the workflow chose (see test/core.defects.test.ts)
        expect(yield* Session.transaction(Session.get(Count))).toEqual(Option.none())
        const manager = yield* SessionManager.SessionManager
        expect(Redacted.value(yield* manager.id)).toBe("idle")
        expect(yield* manager.isNew).toBe(true)
        const failed = yield* Effect.flip(Session.failIfExpired)
        expect(failed._tag).toBe("SessionTimeout")
      }).pipe(Effect.provide(Session.open("idle", options)))
    }).pipe(Effect.provide(memory)))

  it.effect("idle: a unit whose first step reads an expired session sees a fresh one; the expiry is told after", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 7)).pipe(Effect.provide(Session.open("idle-first", options)))
      yield* TestClock.adjust("31 minutes")
      yield* Effect.gen(function*() {
        // the first access of this manager is a unit's read (not Session.expired)
        expect(yield* Session.transaction(Session.get(Count))).toEqual(Option.none())
        const expired = yield* Session.expired
        expect(Option.map(expired, (t) => t.reason)).toEqual(Option.some("Idle"))
      }).pipe(Effect.provide(Session.open("idle-first", options)))
    }).pipe(Effect.provide(memory)))

  it.effect("idle: every save moves the idle deadline", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) {
        yield* Session.transaction(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)).pipe(
          Effect.provide(Session.open("busy", options))
        )
        yield* TestClock.adjust("20 minutes")
      }
      const expired = yield* Session.expired.pipe(Effect.provide(Session.open("busy", options)))
      expect(expired).toEqual(Option.none())
    }).pipe(Effect.provide(memory)))

  it.effect("absolute: a busy session still expires at the end of its lifetime", () =>
    Effect.gen(function*() {
      let timeout: Option.Option<SessionError.SessionTimeout> = Option.none()
      for (let i = 0; i < 10 && Option.isNone(timeout); i++) {
        timeout = yield* Effect.gen(function*() {
          const expired = yield* Session.expired
          yield* Session.transaction(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1))
          return expired
        }).pipe(Effect.provide(Session.open("abs", options)))
        yield* TestClock.adjust("20 minutes")
      }
      const t = Option.getOrThrow(timeout)
      expect(t.reason).toBe("Absolute")
      expect(t.expiredAt).toBe(2 * 60 * 60 * 1000)
      expect(HashMap.get(t.data, "count")).toEqual(Option.some(6))
    }).pipe(Effect.provide(memory)))

  it.effect("both: the earlier deadline wins", () =>
    Effect.gen(function*() {
      const short = { idleTimeout: "2 hours", absoluteTimeout: "1 hour" } as const
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("both", short)))
      const record = yield* Effect.flatMap(SessionStore.SessionStore, (s) => s.load("both"))
      expect(Option.map(record, (r) => r.expiresAt)).toEqual(Option.some(60 * 60 * 1000))
      yield* TestClock.adjust("61 minutes")
      const expired = yield* Session.expired.pipe(Effect.provide(Session.open("both", short)))
      expect(Option.map(expired, (t) => t.reason)).toEqual(Option.some("Absolute"))
    }).pipe(Effect.provide(memory)))

  it.effect("an expired session is reported once: the next manager on the same id finds nothing", () =>
    Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("once", options)))
      yield* TestClock.adjust("1 hour")
      const first = yield* Session.expired.pipe(Effect.provide(Session.open("once", options)))
      const second = yield* Session.expired.pipe(Effect.provide(Session.open("once", options)))
      expect(Option.isSome(first)).toBe(true)
      expect(second).toEqual(Option.none())
    }).pipe(Effect.provide(memory)))

  it.effect("a read-only unit moves the idle deadline only after touchInterval", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("touch", options)))
      yield* TestClock.adjust("30 seconds")
      yield* Session.transaction(Session.get(Count)).pipe(Effect.provide(Session.open("touch", options)))
      expect(Option.map(yield* store.load("touch"), (r) => r.version)).toEqual(Option.some(1))
      yield* TestClock.adjust("2 minutes")
      yield* Session.transaction(Session.get(Count)).pipe(Effect.provide(Session.open("touch", options)))
      const record = Option.getOrThrow(yield* store.load("touch"))
      expect(record.version).toBe(2)
      expect(record.expiresAt).toBe((30 + 2.5) * 60 * 1000)
    }).pipe(Effect.provide(memory)))
})

describe("Session: regenerate, destroy, users", () => {
  it.effect("regenerate moves the data to a new id and deletes the old one", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("old")))
      const newId = yield* Effect.gen(function*() {
        yield* Session.transaction(Session.regenerate)
        const manager = yield* SessionManager.SessionManager
        return Redacted.value(yield* manager.id)
      }).pipe(Effect.provide(Session.open("old")))
      expect(newId).not.toBe("old")
      expect(yield* store.load("old")).toEqual(Option.none())
      expect(Option.map(yield* store.load(newId), (r) => r.data)).toEqual(Option.some({ count: 1 }))
    }).pipe(Effect.provide(memory)))

  it.effect("regenerate in a unit that fails changes nothing", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("keep")))
      yield* Effect.exit(Session.transaction(Effect.zipRight(Session.regenerate, new Boom()))).pipe(
        Effect.provide(Session.open("keep"))
      )
      expect(Option.isSome(yield* store.load("keep"))).toBe(true)
    }).pipe(Effect.provide(memory)))

  it.effect("destroy deletes the stored session; writes after it start a new one", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      yield* Session.transaction(Session.set(Count, 1)).pipe(Effect.provide(Session.open("gone")))
      const outcome = yield* Effect.gen(function*() {
        yield* Session.transaction(Session.destroy)
        return (yield* SessionManager.SessionManager).outcome()
      }).pipe(Effect.provide(Session.open("gone")))
      expect(yield* store.load("gone")).toEqual(Option.none())
      expect(Option.isNone(outcome.id)).toBe(true)
      const flash = yield* Effect.gen(function*() {
        yield* Session.transaction(Effect.zipRight(Session.destroy, Session.set("flash", "bye")))
        return (yield* SessionManager.SessionManager).outcome()
      }).pipe(Effect.provide(Session.open("gone2")))
      const newId = Redacted.value(Option.getOrThrow(flash.id))
      expect(newId).not.toBe("gone2")
      expect(Option.map(yield* store.load(newId), (r) => r.data)).toEqual(Option.some({ flash: "bye" }))
    }).pipe(Effect.provide(memory)))

  it.effect("sessions bound to a user are revoked together", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      for (const id of ["u1", "u2"]) {
        yield* Session.transaction(Effect.zipRight(Session.set(Count, 1), Session.bindUser("alice"))).pipe(
          Effect.provide(Session.open(id))
        )
      }
      yield* Session.transaction(Effect.zipRight(Session.set(Count, 1), Session.bindUser("bob"))).pipe(
        Effect.provide(Session.open("u3"))
      )
      expect(yield* store.deleteByUser("alice")).toBe(2)
      expect(yield* store.load("u1")).toEqual(Option.none())
      expect(Option.isSome(yield* store.load("u3"))).toBe(true)
    }).pipe(Effect.provide(memory)))

  it.effect("ids of new sessions are 256-bit base64url and unique", () =>
    Effect.gen(function*() {
      const ids = new Set<string>()
      for (let i = 0; i < 100; i++) {
        const id = yield* Effect.flatMap(SessionManager.SessionManager, (m) => m.id).pipe(
          Effect.provide(Session.openNew())
        )
        expect(Redacted.value(id)).toMatch(/^[A-Za-z0-9_-]{43}$/)
        ids.add(Redacted.value(id))
      }
      expect(ids.size).toBe(100)
    }).pipe(Effect.provide(memory)))
})
