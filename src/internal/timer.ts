import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

// the longest delay setTimeout takes (about 24.8 days); longer ones are made of several
const MAX_DELAY = 2 ** 31 - 1

/**
 * Calls `f` once `duration` has passed on `clock`; gives a function that cancels it. Under the live
 * clock this is a plain timer (what the live clock's `sleep` is made of), so that a wait on the hot
 * path does not pay for fibers (`Effect.timeoutFail` races two); under another clock (`TestClock`)
 * the clock's own `sleep` runs in a small fiber, so that tests move the time as for everything else.
 *
 * @internal
 */
export const schedule = (clock: Clock.Clock, duration: Duration.Duration, f: () => void): () => void => {
  const millis = Duration.toMillis(duration)
  if (!Number.isFinite(millis)) return () => {}
  if (clock === liveClock) {
    let handle: ReturnType<typeof setTimeout>
    const at = Date.now() + millis
    const arm = (delay: number) => {
      handle = setTimeout(() => {
        const left = at - Date.now()
        if (left > 0) arm(left)
        else f()
      }, Math.min(MAX_DELAY, Math.max(0, delay)))
    }
    arm(millis)
    return () => clearTimeout(handle)
  }
  const fiber = Effect.runFork(Effect.zipRight(clock.sleep(duration), Effect.sync(f)))
  return () => void Effect.runFork(Fiber.interrupt(fiber))
}

/**
 * `effect`, or the failure `onTimeout()` when it has not ended within `duration` of the fiber's
 * `Clock`; the late effect is then interrupted without waiting for it (a hung backend must not hold
 * the caller). What `Effect.timeoutFail` does, for the stores' calls on every request: it runs the
 * effect in one child fiber watched by a timer (`schedule`), where `Effect.timeoutFail` races two
 * fibers (about 6 µs against 20 µs a call, measured).
 *
 * @internal
 */
export const timeoutFail = <A, E, R, E2>(
  effect: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock) =>
    Effect.uninterruptibleMask((restore) =>
      // the call runs interruptibly whatever the caller's region (a commit is uninterruptible): the
      // timeout must be able to stop it
      Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), (child) =>
        Effect.onInterrupt(
          restore(Effect.async<A, E | E2>((resume) => {
            let settled = false
            const cancel = schedule(clock, duration, () => {
              if (settled) return
              settled = true
              child.unsafeInterruptAsFork(FiberId.none)
              resume(Effect.fail(onTimeout()))
            })
            child.addObserver((exit) => {
              if (settled) return
              settled = true
              cancel()
              resume(exit)
            })
          })),
          // the caller was interrupted: so is the call, without waiting for it
          () => Effect.sync(() => child.unsafeInterruptAsFork(FiberId.none))
        ))
    )
  )
