/**
 * Issue #13, the hand-off of a rolled-back snapshot: a session commit that joins the app's
 * `sql.withTransaction` is tentative until that transaction commits. When it rolls back, neither a
 * later unit of the same manager nor a request that waited for the session's lock may see what the
 * joined unit wrote: they read what the database holds. Each test failed before the fix.
 *
 * Real servers: PostgreSQL and MariaDB as `scripts/services.sh start` runs them (see storeLayers.ts).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Sql from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Deferred, Effect, Fiber, Option, Schema } from "effect"
import { Session, SessionStore } from "effect-session"
import { mysqlClient, pgClient, random, sqliteClient, sqlLayer } from "./storeLayers.js"

const Note = Session.key("note", Schema.String)

const clients: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient, unknown>]> = [
  ["sqlite", sqliteClient],
  ["postgres", pgClient],
  ["mariadb", mysqlClient]
]

for (const [name, client] of clients) {
  describe(`a rolled-back joined SQL commit on ${name} (#13)`, () => {
    const layer = sqlLayer(client)

    it.effect("a later unit of the same manager does not see the rolled-back write", () =>
      Effect.gen(function*() {
        const sql = yield* Sql.SqlClient
        const store = yield* SessionStore.SessionStore
        const id = `joined-${random()}`
        yield* Effect.gen(function*() {
          yield* Session.transaction(Session.set(Note, "committed"))
          const failure = yield* sql.withTransaction(
            Effect.zipRight(Session.transaction(Session.set(Note, "uncommitted")), Effect.fail("boom"))
          ).pipe(Effect.flip)
          expect(failure).toBe("boom")
          // the database holds the first commit only
          const stored = Option.getOrThrow(yield* store.load(id))
          expect(stored.data).toEqual({ note: "committed" })
          expect(stored.version).toBe(1)
          // a reader and a writer of the same manager (one long-lived Session.open) read that
          expect(yield* Session.transaction(Session.get(Note)).pipe(Session.readOnly)).toEqual(Option.some("committed"))
          expect(yield* Session.transaction(Session.get(Note))).toEqual(Option.some("committed"))
          // and a write afterwards is a plain compare-and-set on what is stored: no conflict
          yield* Session.transaction(Session.set(Note, "next"))
          expect(Option.getOrThrow(yield* store.load(id))).toMatchObject({ data: { note: "next" }, version: 2 })
        }).pipe(Effect.provide(Session.open(id)))
      }).pipe(Effect.provide(layer)))

    it.effect("a request that waited for the lock is not handed the rolled-back snapshot", () =>
      Effect.gen(function*() {
        const sql = yield* Sql.SqlClient
        const id = `joined-${random()}`
        yield* Session.transaction(Session.set(Note, "committed")).pipe(Effect.provide(Session.open(id)))
        const holding = yield* Deferred.make<void>()
        const queued = yield* Deferred.make<void>()
        // request A: its unit joins the app's transaction, which fails after the unit committed
        const a = yield* Effect.fork(
          sql.withTransaction(
            Effect.zipRight(
              Session.transaction(Effect.gen(function*() {
                yield* Session.set(Note, "uncommitted")
                yield* Deferred.succeed(holding, undefined)
                yield* Deferred.await(queued)
              })),
              Effect.fail("boom")
            )
          ).pipe(Effect.provide(Session.open(id)), Effect.flip)
        )
        yield* Deferred.await(holding)
        // request B (another manager on the same store): its first access waits for A's lock
        const b = yield* Effect.fork(Session.transaction(Session.get(Note)).pipe(Effect.provide(Session.open(id))))
        for (let turn = 0; turn < 100; turn++) {
          const status = yield* Fiber.status(b)
          if (status._tag === "Suspended") break
          yield* Effect.yieldNow()
        }
        yield* Deferred.succeed(queued, undefined)
        expect(yield* Fiber.join(a)).toBe("boom")
        // B reads what the database holds, never the rolled-back "uncommitted"
        expect(yield* Fiber.join(b)).toEqual(Option.some("committed"))
      }).pipe(Effect.provide(layer)))
  })
}
