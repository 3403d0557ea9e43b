/**
 * Hostile input: forged, truncated, oversized and malformed ids in every transport, and stored
 * records that are corrupt or of another format. None may cause a 500, a crash, a store lookup for
 * an unsigned id, or a read of another session's data.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Option, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { client, serve, sessionLayer } from "./utils/http.js"
import { countingStore } from "./utils/stores.js"

const Secret = Session.key("secret", Schema.String)

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/secret", Effect.map(Session.getOrElse(Secret, () => "none"), (s) => HttpServerResponse.text(s))),
  HttpRouter.post("/secret", Effect.as(Session.set(Secret, "secret-of-victim"), HttpServerResponse.text("ok"))),
  HttpSession.middleware
)

// header-safe text: printable ASCII without the cookie separators that would name another cookie
const headerText = fc.string({
  unit: fc.constantFrom(..."ABCabc0189-_.=%+/~!$&'()*:@[]{}|^` \"\\<>?,".split("")),
  maxLength: 200
})

describe("hostile input (fuzz)", () => {
  it.scopedLive("cookies, headers and query ids: never a 500, never another session's data, no store lookup", () =>
    Effect.gen(function*() {
      for (const transport of [{ _tag: "Cookie" }, { _tag: "Header" }, { _tag: "Query" }] as const) {
        const { layer, loads } = countingStore()
        const base = yield* serve(app, sessionLayer(layer, { transport }))
        // the victim's session
        const victim = client(base)
        let token: string
        if (transport._tag === "Cookie") {
          yield* victim.post("/secret")
          token = victim.jar.get("session")!
        } else if (transport._tag === "Header") {
          token = (yield* victim.post("/secret")).headers.get("x-session-id")!
        } else {
          const location = (yield* victim.get("/secret")).headers.get("location")!
          yield* victim.post(location)
          token = new URL(location, base).searchParams.get("sid")!
        }
        const validLoads = loads.length
        const inputs = fc.oneof(
          headerText,
          // near misses of the real token: truncated, extended, one character changed
          fc.nat(token.length).map((n) => token.slice(0, n)),
          fc.string({ maxLength: 5 }).map((s) => token + s),
          fc.tuple(fc.nat(token.length - 1), fc.constantFrom("A", "B", "-", "_", ".")).map(([i, c]) =>
            token.slice(0, i) + c + token.slice(i + 1)
          ),
          fc.constant("x".repeat(4000))
        )
        // a sample that still carries the whole token (the token plus "; junk" or a trailing space, which
        // cookie parsing drops) is the real token, not a forgery
        const samples = fc.sample(inputs, { numRuns: 150, seed: 42 }).filter((s) => s.split(";")[0]!.trim() !== token)
        for (const sample of samples) {
          const reply = transport._tag === "Cookie"
            ? yield* client(base).get("/secret", { headers: { cookie: `session=${sample}` } })
            : transport._tag === "Header"
            ? yield* client(base).get("/secret", { headers: { "x-session-id": sample } })
            : yield* client(base).get(`/secret?sid=${encodeURIComponent(sample)}`)
          expect(reply.status === 200 || reply.status === 302).toBe(true)
          expect(reply.body, `${transport._tag}: ${JSON.stringify(sample)}`).not.toContain("secret-of-victim")
        }
        // no input was looked up in the store: an unsigned id never reaches it
        expect(loads.length).toBe(validLoads)
        expect(samples.length).toBeGreaterThan(100)
      }
    }))

  it.effect("stored record bytes: decodeRecord never throws, and gives a valid record or none", () =>
    Effect.sync(() => {
      const valid = SessionStore.encodeRecord({ data: { a: 1 }, version: 3, createdAt: 1, expiresAt: 2 })
      const texts = fc.oneof(
        fc.string(),
        fc.json(),
        fc.nat(valid.length).map((n) => valid.slice(0, n)),
        fc.tuple(fc.nat(valid.length - 1), fc.char()).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1))
      )
      fc.assert(
        fc.property(texts, (text) => {
          const decoded = SessionStore.decodeRecord(text)
          if (Option.isSome(decoded)) {
            const r = decoded.value
            expect(Number.isSafeInteger(r.version) && r.version >= 0).toBe(true)
            expect(typeof r.data === "object" && r.data !== null && !Array.isArray(r.data)).toBe(true)
          }
        }),
        { numRuns: 3000 }
      )
      expect(SessionStore.decodeRecord(valid)).toEqual(
        Option.some({ data: { a: 1 }, version: 3, createdAt: 1, expiresAt: 2 })
      )
    }))

  it.effect("a store that hands back arbitrary records: the unit sees a fresh session or the record, never a crash", () =>
    Effect.gen(function*() {
      const records = fc.sample(fc.oneof(fc.string(), fc.json()), { numRuns: 500, seed: 7 })
      for (const text of records) {
        const memory = yield* SessionStore.makeMemory()
        const store: SessionStore.SessionStoreService = {
          ...memory,
          load: () => Effect.succeed(SessionStore.decodeRecord(text))
        }
        const result = yield* Session.transaction(Effect.zipRight(Session.keys, Session.set("k", 1))).pipe(
          Effect.provide(Session.open("any").pipe(Layer.provide(Layer.succeed(SessionStore.SessionStore, store)))),
          Effect.either
        )
        // either committed, or a typed error (a conflict with what the store claims to hold)
        expect(result._tag === "Right" || ["SessionConflict", "SessionStoreError"].includes(result.left._tag)).toBe(
          true
        )
      }
    }).pipe(Effect.scoped))

  it.effect("an older record format goes through the migration hook", () =>
    Effect.sync(() => {
      const old = JSON.stringify({ v: 0, payload: { cart: ["a"] }, ver: 4, exp: 99 })
      const migrated = SessionStore.decodeRecord(old, (stored) => {
        if (stored.v !== 0) return undefined
        return {
          data: stored.payload as Record<string, unknown>,
          version: stored.ver as number,
          createdAt: 0,
          expiresAt: stored.exp as number
        }
      })
      expect(migrated).toEqual(Option.some({ data: { cart: ["a"] }, version: 4, createdAt: 0, expiresAt: 99 }))
      expect(SessionStore.decodeRecord(old)).toEqual(Option.none())
    }))

  it.effect("workflow ids with path and SQL metacharacters are just ids", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const ids = ["../../etc/passwd", "'; DROP TABLE sessions; --", "a/b\\c\u0000d", "ünïcødé ✓", "{slot}", ""]
      for (const id of ids) {
        yield* Session.transaction(Session.set("who", id)).pipe(Effect.provide(Session.open(id)))
      }
      for (const id of ids) {
        expect(Option.map(yield* store.load(id), (r) => r.data)).toEqual(Option.some({ who: id }))
      }
    }).pipe(Effect.provide(SessionStore.layerMemory())))
})
