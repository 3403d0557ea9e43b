import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Effect, HashMap, Layer, Logger, Metric, Option, Schema, TestClock, Tracer } from "effect"
import { Session, SessionManager, SessionMetrics, SessionStore } from "effect-session"
import { inspect } from "node:util"

class Boom extends Data.TaggedError("Boom")<{}> {}
const Count = Session.key("count", Schema.Number)

interface Recorded {
  readonly name: string
  readonly attributes: Map<string, unknown>
}

/** A tracer that records every span, to check what the library puts in them. */
const recordingTracer = () => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      spans.push({ name, attributes })
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: String(spans.length),
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: () => {},
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { spans, layer: Layer.setTracer(tracer) }
}

/** A logger that keeps every line (logfmt), to check what a logged value shows. */
const capturingLogger = () => {
  const logged: Array<string> = []
  const capture = Logger.replace(
    Logger.defaultLogger,
    Logger.map(Logger.logfmtLogger, (line) => void logged.push(line))
  )
  return { logged, capture }
}

const count = <In, Out>(metric: Metric.Metric<any, In, Out>) => Metric.value(metric)

describe("observability", () => {
  it.effect("commits, discards, creations and expiries are counted; spans carry the store and outcome, never ids or data", () => {
    const { layer, spans } = recordingTracer()
    return Effect.gen(function*() {
      const before = {
        created: (yield* count(SessionMetrics.sessionsCreated)).count,
        committed: (yield* count(SessionMetrics.unitsCommitted)).count,
        discarded: (yield* count(SessionMetrics.unitsDiscarded)).count
      }
      yield* Session.transaction(Session.set(Count, 1))
      yield* Session.transaction(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1))
      yield* Effect.exit(Session.transaction(Effect.zipRight(Session.set(Count, 9), new Boom())))
      const after = {
        created: (yield* count(SessionMetrics.sessionsCreated)).count,
        committed: (yield* count(SessionMetrics.unitsCommitted)).count,
        discarded: (yield* count(SessionMetrics.unitsDiscarded)).count
      }
      expect(after.created - before.created).toBe(1)
      expect(after.committed - before.committed).toBe(2)
      expect(after.discarded - before.discarded).toBe(1)
      const histogram = yield* Metric.value(SessionMetrics.commitDuration)
      expect(histogram.count).toBeGreaterThanOrEqual(2)

      const commits = spans.filter((s) => s.name === "effect-session.commit")
      expect(commits.map((s) => s.attributes.get("session.outcome"))).toEqual(["created", "saved"])
      expect(commits.every((s) => s.attributes.get("session.store") === "memory")).toBe(true)
      const loads = spans.filter((s) => s.name === "effect-session.load")
      expect(loads.length).toBe(1)
      const everything = JSON.stringify(spans.map((s) => [s.name, [...s.attributes]]))
      expect(everything).not.toContain("obs-session-id")
      expect(everything).not.toContain("count")
    }).pipe(
      Effect.provide(Session.open("obs-session-id").pipe(Layer.provideMerge(SessionStore.layerMemory()))),
      Effect.provide(layer)
    )
  })

  it.effect("printed, logged or turned into JSON, the manager, the session, an outcome and a savepoint show no id and no data", () => {
    const { capture, logged } = capturingLogger()
    return Effect.gen(function*() {
      const [session, savepoint] = yield* Session.transaction(Effect.gen(function*() {
        yield* Session.set(Count, 424242)
        return [yield* Session.Session, yield* Session.savepoint] as const
      }))
      const manager = yield* SessionManager.SessionManager
      const outcome = manager.outcome()
      expect(Option.isSome(outcome.id)).toBe(true) // committed and stored: the outcome holds the id
      for (const shown of [manager, session, outcome, savepoint]) {
        yield* Effect.log(shown)
        const views = [inspect(shown, { depth: 10 }), JSON.stringify(shown), String(shown), logged.at(-1)!]
        for (const view of views) {
          expect(view).toContain("effect-session/")
          expect(view).not.toContain("printed-session-id")
          expect(view).not.toContain("424242")
        }
      }
    }).pipe(
      Effect.provide(Session.open("printed-session-id").pipe(Layer.provideMerge(SessionStore.layerMemory()))),
      Effect.provide(capture)
    )
  })

  it.effect("a SessionTimeout gives the app the expired data, and leaves it and the id out of logs, JSON and print", () => {
    const { capture, logged } = capturingLogger()
    const open = Session.open("expired-session-id", { idleTimeout: "1 minute" })
    return Effect.gen(function*() {
      yield* Session.transaction(Session.set(Count, 424242)).pipe(Effect.provide(open))
      yield* TestClock.adjust("2 minutes")
      const timeout = yield* Effect.flip(Session.failIfExpired).pipe(Effect.provide(open))
      if (timeout._tag !== "SessionTimeout") return expect.fail(`expected a SessionTimeout, got ${timeout._tag}`)
      expect(HashMap.get(timeout.data, "count")).toEqual(Option.some(424242))
      yield* Effect.logError(timeout)
      yield* Effect.logError(Cause.fail(timeout))
      const views = [JSON.stringify(timeout), inspect(timeout, { depth: 10 }), String(timeout), ...logged]
      expect(logged.length).toBe(2)
      for (const view of views) {
        expect(view).not.toContain("expired-session-id")
        expect(view).not.toContain("424242")
      }
    }).pipe(Effect.provide(SessionStore.layerMemory()), Effect.provide(capture))
  })
})
