/**
 * The one runner of units of work, and the ways to make a manager. `Session.transaction`, the
 * HTTP middleware and `Session.layer` all end a unit through its own `commit` / `rollback`; the
 * runner adds the conflict policy's re-runs.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import type { Session, SessionService } from "../Session.js"
import {
  SessionCommitFailed,
  type SessionConflict,
  type SessionOptionError,
  type SessionStoreError
} from "../SessionError.js"
import type { MakeOptions, SessionManager, SessionManagerService, SessionOptions } from "../SessionManager.js"
import type { SessionStore, SessionStoreService } from "../SessionStore.js"
import { RequestManager, RequestSession, stateOf } from "./current.js"
import { Manager } from "./manager.js"
import * as metrics from "./metrics.js"
import { type ResolvedOptions, resolveOptions } from "./options.js"
import { sessionStoreTag } from "./storeTag.js"
import { sessionIn, SessionManagerTag, SessionTag } from "./tags.js"
import { Unit, type UnitMode } from "./unit.js"

const foreign = (what: string) =>
  `effect-session: the ${what} in the context was not made by effect-session. Provide it with ` +
  "Session.open, Session.openNew, SessionManager.layer or an HttpSession middleware, not a hand-made object " +
  "(Effect.provideService with your own implementation is not supported)"

/**
 * The internal manager behind a `SessionManager` service, or a defect that says what to do when the
 * service was made by hand.
 *
 * @internal
 */
export const managerOf = (service: SessionManagerService): Effect.Effect<Manager> =>
  service instanceof Manager
    ? Effect.succeed(service)
    // the HTTP layers' SessionManager: the manager of the request in context (internal/current.ts)
    : service instanceof RequestManager
    ? service.resolve
    : Effect.dieMessage(foreign("SessionManager"))

const withManager = <A, E, R>(f: (manager: Manager) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(SessionManagerTag, (service) => Effect.flatMap(managerOf(service), f))

/** Whether a unit whose commit met a conflict may run again (policies `retry`, `merge-then-retry`). @internal */
export const canRetry = (manager: Manager, attempt: number): boolean =>
  (manager.options.onConflict === "retry" || manager.options.onConflict === "merge-then-retry") &&
  attempt < manager.options.retryAttempts

/** A small jittered backoff before attempt `n + 1`: 5 ms × 2^(n-1), ±50 %. @internal */
export const backoff = (attempt: number): Effect.Effect<void> =>
  Effect.zipRight(
    Metric.increment(Metric.tagged(metrics.conflicts, "resolution", "retried")),
    Effect.flatMap(
      Random.nextRange(0.5, 1.5),
      // whole milliseconds: a fractional sleep makes TestClock's time fractional, which stores reject
      (jitter) => Effect.sleep(Duration.millis(Math.max(1, Math.round(5 * 2 ** (attempt - 1) * jitter))))
    )
  )

/**
 * Runs `body` as one unit of work on `manager`: commit when it succeeds and `shouldCommit` says so,
 * discard otherwise (failure, defect, interruption, or a success not to commit). A commit that met
 * a conflict runs the body again when the policy allows. Interruption is masked around the end of
 * the unit, so that a commit that has started completes.
 *
 * @internal
 */
export const runUnit = <A, E, R>(
  manager: Manager,
  body: (unit: Unit) => Effect.Effect<A, E, R>,
  shouldCommit: (a: A) => boolean,
  mode: UnitMode = "write",
  /** The attempt to start at (the HTTP middleware runs the first one itself). */
  first = 1
): Effect.Effect<A, E | SessionStoreError | SessionConflict, R> => {
  const attempt = (n: number): Effect.Effect<A, E | SessionStoreError | SessionConflict, R> =>
    Effect.uninterruptibleMask((restore) => {
      const unit = new Unit(manager, undefined, mode)
      return Effect.matchCauseEffect(restore(body(unit)), {
        onFailure: (cause) => Effect.zipRight(unit.rollback(), Effect.failCause(cause)),
        onSuccess: (a): Effect.Effect<A, E | SessionStoreError | SessionConflict, R> => {
          if (!shouldCommit(a)) return Effect.as(unit.rollback(), a)
          // a unit that never touched the session: nothing to commit, no store call
          if (unit.commitIfUntouched()) return Effect.succeed(a)
          return Effect.catchTag(
            Effect.as(unit.commit(), a),
            "SessionConflict",
            (conflict) =>
              canRetry(manager, n) ? restore(Effect.zipRight(backoff(n), attempt(n + 1))) : Effect.fail(conflict)
          )
        }
      })
    })
  return attempt(first)
}

// a nested transaction: a savepoint of the open unit, rolled back when the effect fails
const nested = <A, E, R>(session: SessionService, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.either(session.savepoint), (sp) => {
      // the savepoint can only fail when the unit cannot be loaded: run the effect, it will fail too
      if (Either.isLeft(sp)) return restore(self)
      return Effect.flatMap(Effect.exit(restore(self)), (exit) =>
        Exit.isSuccess(exit)
          ? exit
          : Effect.zipRight(Effect.ignore(sp.right.rollback), exit))
    })
  )

/** Whether the units started here are readers (see `Session.readOnly`). @internal */
export const currentReadOnly: FiberRef.FiberRef<boolean> = globalValue(
  Symbol.for("effect-session/currentReadOnly"),
  () => FiberRef.unsafeMake(false)
)

const currentSession: Effect.Effect<SessionService> = Effect.contextWith(sessionIn)

/** @internal */
export const readOnly = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.contextWithEffect((context: Context.Context<never>) => {
    const current = sessionIn(context)
    // the unit already open here (the request's, say) reads without the lock too, if it has not
    // touched the session yet
    if (current instanceof Unit) current.readOnly()
    else if (current instanceof RequestSession) stateOf(context)?.unit.readOnly()
    return Effect.locally(self, currentReadOnly, true)
  })

/** @internal */
export const transaction = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SessionStoreError | SessionConflict, Exclude<R, Session> | SessionManager> => {
  const outermost = withManager((manager) =>
    Effect.flatMap(
      FiberRef.get(currentReadOnly),
      (readOnly) =>
        runUnit(
          manager,
          (unit) => Effect.provideService(self, SessionTag, unit),
          () => true,
          readOnly ? "read" : "write"
        )
    )
  )
  type Out = Effect.Effect<A, E | SessionStoreError | SessionConflict, Exclude<R, Session> | SessionManager>
  // a nested unit runs the effect with the parent's Session: what it needs of R is still needed
  const inside = (session: SessionService): Out => nested(session, self) as Effect.Effect<A, E, Exclude<R, Session>>
  return Effect.flatMap(currentSession, (session): Out => {
    // inside an open unit, a transaction is a savepoint of it (as in @effect/sql)
    if (session instanceof Unit) return session.unit.status === "open" ? inside(session) : outermost
    return Effect.flatMap(session.status, (status): Out => status === "open" ? inside(session) : outermost)
  })
}

/** @internal */
export const layer: Layer.Layer<Session, never, SessionManager> = Layer.scoped(
  SessionTag,
  withManager((manager) =>
    Effect.acquireRelease(
      Effect.sync((): Unit => new Unit(manager)),
      (unit, exit) =>
        Exit.isSuccess(exit)
          ? Effect.catchAll(unit.commit(), (error) => Effect.die(new SessionCommitFailed({ error })))
          : unit.rollback()
    )
  )
)

/**
 * What a handler of `HttpSession.manual` sees as its `Session` outside its own units: a closed
 * unit whose writes say to open one. @internal
 */
export const outsideUnit = (manager: Manager): Unit => new Unit(manager, "OutsideUnit")

/** Resolves the options once, for many managers (throws a SessionOptionError for a wrong option). @internal */
export const prepare = (options: SessionOptions): ResolvedOptions =>
  Either.getOrThrowWith(resolveOptions(options), (error) => error)

/** @internal */
export const unsafeMakeManager = (store: SessionStoreService, options: MakeOptions = {}): Manager =>
  new Manager(store, prepare(options), options.id, options.adoptUnknownId ?? false)

/** @internal */
export const makeManager = (
  options: MakeOptions = {}
): Effect.Effect<SessionManagerService, SessionOptionError, SessionStore> =>
  Effect.flatMap(
    resolveOptions(options),
    (resolved) =>
      Effect.map(sessionStoreTag, (store) => new Manager(store, resolved, options.id, options.adoptUnknownId ?? false))
  )

/** @internal */
export const layerManager = (
  options: MakeOptions = {}
): Layer.Layer<SessionManager, SessionOptionError, SessionStore> =>
  Layer.effect(SessionManagerTag, makeManager(options))
