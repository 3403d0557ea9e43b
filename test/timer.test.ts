/**
 * The cheap timeout of the stores' calls and of the lock wait (src/internal/timer.ts): same answers
 * as Effect.timeoutFail, under TestClock and under the live clock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, TestClock } from "effect"
import { timeoutFail } from "../src/internal/timer.js"

class TimedOut {
  readonly _tag = "TimedOut"
}
const second = Duration.seconds(1)
const guard = <A, E>(effect: Effect.Effect<A, E>) => timeoutFail(effect, second, () => new TimedOut())

describe("timeoutFail", () => {
  it.effect("an effect that ends in time gives its own end: value, failure or defect", () =>
    Effect.gen(function*() {
      expect(yield* guard(Effect.succeed(1))).toBe(1)
      expect(yield* Effect.flip(guard(Effect.fail("boom")))).toBe("boom")
      const died = yield* Effect.exit(guard(Effect.die("defect")))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      // asynchronous, ending before the deadline
      const late = yield* Effect.fork(guard(Effect.as(Effect.sleep("500 millis"), "late but in time")))
      yield* TestClock.adjust("600 millis")
      expect(yield* Fiber.join(late)).toBe("late but in time")
    }))

  it.effect("an effect that has not ended by the deadline: the timeout's failure, and the effect is interrupted", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        guard(Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined)))
      )
      yield* TestClock.adjust("999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.flip(Fiber.join(fiber))).toBeInstanceOf(TimedOut)
      yield* Deferred.await(interrupted)
    }))

  it.effect("a caller that is interrupted interrupts the call", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        guard(
          Effect.zipRight(
            Deferred.succeed(started, undefined),
            Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
          )
        )
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(interrupted)
    }))

  // the live clock's path (a plain timer): the test waits for the library's 20 ms timer
  it.live("under the live clock: a hung call fails after its duration, a quick one is not failed later", () =>
    Effect.gen(function*() {
      const short = (effect: Effect.Effect<string>) => timeoutFail(effect, Duration.millis(20), () => new TimedOut())
      expect(yield* Effect.flip(short(Effect.never))).toBeInstanceOf(TimedOut)
      expect(yield* short(Effect.succeed("quick"))).toBe("quick")
    }))
})
