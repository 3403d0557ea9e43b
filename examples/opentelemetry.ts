/**
 * effect-session in traces: @effect/opentelemetry with the console span exporter. Every store load
 * and every commit that writes is a span (`effect-session.load`, `effect-session.commit`) with the
 * store's name and the outcome — never the session id or data. The metrics are Effect metrics
 * (`SessionMetrics`), printed here at the end.
 *
 * Run: npx tsx examples/opentelemetry.ts
 */
import { NodeSdk } from "@effect/opentelemetry"
import { NodeRuntime } from "@effect/platform-node"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Data, Effect, Layer, Metric, Option, Schema } from "effect"
import { Session, SessionMetrics, SessionStore } from "effect-session"

class OutOfStock extends Data.TaggedError("OutOfStock")<{}> {}

const Cart = Session.key("cart", Schema.Array(Schema.String))

const add = (sku: string) =>
  Effect.gen(function*() {
    const cart = yield* Session.getOrElse(Cart, () => [])
    yield* Session.set(Cart, [...cart, sku])
    if (sku === "unobtainium") return yield* new OutOfStock()
  }).pipe(Session.transaction, Effect.withSpan(`add ${sku}`))

const program = Effect.gen(function*() {
  yield* add("apple")
  yield* add("pear")
  yield* Effect.either(add("unobtainium")) // discarded
  const cart = yield* Session.transaction(Session.get(Cart))
  yield* Console.log(`cart: ${Option.getOrElse(cart, () => []).join(", ")}`)
  const committed = yield* Metric.value(SessionMetrics.unitsCommitted)
  const discarded = yield* Metric.value(SessionMetrics.unitsDiscarded)
  yield* Console.log(`metrics: committed=${committed.count} discarded=${discarded.count}`)
})

const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "effect-session-example" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
}))

program.pipe(
  Effect.provide(Session.open("customer-1").pipe(Layer.provide(SessionStore.layerMemory()))),
  Effect.provide(TracingLive),
  NodeRuntime.runMain
)
