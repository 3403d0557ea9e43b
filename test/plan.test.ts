/**
 * The commit plan (src/internal/plan.ts) is a pure function: its rules checked directly, over random
 * snapshots, units, times and options. (test/session.lifecycle.model.test.ts checks the same rules
 * end to end, through a long-lived manager and the memory store.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, HashMap } from "effect"
import type { SessionManager } from "effect-session"
import { resolveOptions } from "../src/internal/options.js"
import { plan } from "../src/internal/plan.js"

const MINUTE = 60_000
const options = Either.getOrThrow(resolveOptions({ idleTimeout: "30 minutes", absoluteTimeout: "2 hours" }))
const data = fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: 3 })), { maxLength: 3 })
  .map((entries) => HashMap.fromIterable(entries))

const arbitrary = fc.record({
  version: fc.integer({ min: 0, max: 3 }),
  createdAt: fc.integer({ min: 0, max: 60 }).map((m) => m * MINUTE),
  age: fc.integer({ min: 0, max: 180 }).map((m) => m * MINUTE), // since the last save
  later: fc.integer({ min: 0, max: 90 }).map((m) => m * MINUTE), // from the last save to the commit
  baseData: data,
  unitData: fc.option(data, { nil: undefined }), // undefined: the unit did not change the data
  userChange: fc.boolean(),
  destroy: fc.boolean(),
  regenerate: fc.boolean()
})

describe("the commit plan", () => {
  it("follows its rules for any snapshot, unit, time and option", () => {
    let ids = 0
    fc.assert(
      fc.property(arbitrary, (a) => {
        const savedAt = a.createdAt + a.age
        const base: SessionManager.Committed = {
          id: "base",
          version: a.version,
          createdAt: a.createdAt,
          expiresAt: Math.min(savedAt + options.idleMillis, a.createdAt + options.absoluteMillis),
          userId: undefined,
          data: a.baseData
        }
        const now = savedAt + a.later
        const unit = {
          data: a.unitData ?? base.data,
          userId: a.userChange ? "user" : undefined,
          destroy: a.destroy,
          regenerate: a.regenerate
        }
        const p = plan(base, unit, now, options, () => `new-${ids++}`)
        const stored = base.version > 0
        // a stored session whose deadline passed is never written
        if (stored && base.expiresAt <= now) expect(p._tag).toBe("Expired")
        // whatever a plan writes expires after now, and a new session is never saved empty
        const written = p._tag === "Destroy" ? p.then : p
        if (
          written._tag === "Save" || written._tag === "Create" || written._tag === "Touch" ||
          written._tag === "Regenerate"
        ) {
          expect(written.next.expiresAt).toBeGreaterThan(now)
          expect(written.next.expiresAt).toBeLessThanOrEqual(written.next.createdAt + options.absoluteMillis)
        }
        if (written._tag === "Create") {
          expect(HashMap.size(written.next.data)).toBeGreaterThan(0)
          expect(written.next.version).toBe(1)
        }
        switch (p._tag) {
          case "Save":
            expect([stored, p.next.id, p.next.version, p.next.data]).toEqual([
              true,
              "base",
              base.version + 1,
              unit.data
            ])
            break
          case "Touch":
            expect(p.next.data).toBe(base.data)
            expect(p.next.expiresAt - base.expiresAt).toBeGreaterThanOrEqual(options.touchMillis)
            break
          case "Regenerate":
            expect([stored, a.regenerate, a.destroy, p.oldId, p.oldVersion]).toEqual([
              true,
              true,
              false,
              "base",
              base.version
            ])
            expect(p.next.id).not.toBe("base")
            expect(p.next.createdAt).toBe(base.createdAt) // a new id does not extend the lifetime
            break
          case "Destroy":
            expect([stored, a.destroy, p.oldId]).toEqual([true, true, "base"])
            break
          case "Unchanged":
            // nothing to write: no change on a stored session, or a new one left empty
            if (stored && !a.destroy && !a.regenerate) expect(unit.data === base.data && !a.userChange).toBe(true)
            break
        }
      }),
      { numRuns: 5000 }
    )
    expect(ids).toBeGreaterThan(0)
  })
})
