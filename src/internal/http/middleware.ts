/**
 * The HTTP middleware: each request's handler runs as one unit of work through the one runner
 * (`runUnit`), committed when `commitOn` accepts the response's status. The request's session is
 * bound to the request (internal/current.ts), not provided in a copy of the fiber's context.
 *
 * @internal
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FiberStatus from "effect/FiberStatus"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type { HttpSession, HttpSessionService } from "../../HttpSession.js"
import type { Session } from "../../Session.js"
import { SessionConflict, SessionStoreError } from "../../SessionError.js"
import type { SessionManager } from "../../SessionManager.js"
import { type Binding, bindingKey, holderOf, RequestSession, RequestState, SessionOpener, stateOf } from "../current.js"
import { backoff, canRetry, outsideUnit, runUnit } from "../runner.js"
import { sessionIn, SessionTag } from "../tags.js"
import { Unit } from "../unit.js"
import { HttpSessionTag } from "./config.js"
import type { Opened } from "./transport.js"

type Response = HttpServerResponse.HttpServerResponse

// whether the middleware runs where interruption is on (inside a route: HttpRouter.use, or a
// handler's own `Effect.interruptible`): then the end of the unit is masked
const isInterruptible = (status: FiberStatus.Running): boolean => RuntimeFlags.interruptible(status.runtimeFlags)

const isSessionFailure = (u: unknown): u is SessionStoreError | SessionConflict =>
  u instanceof SessionStoreError || u instanceof SessionConflict

// what a failed commit leaves in the log: the store's name and the error's tag, never an id or data
const logFailure = (store: string, error: SessionStoreError | SessionConflict) =>
  Effect.annotateLogs(Effect.logWarning("effect-session: the session's commit failed"), { store, error: error._tag })

/**
 * Where a middleware was put, learnt from its first request. `HttpServer.serve(app, middleware)`
 * and `HttpApiBuilder.serve(middleware)` give it the app that writes the response itself: the
 * unit must then end in a pre-response handler, just before the response is written.
 */
interface Placement {
  serve: boolean | undefined
  /** The middleware's opener for the lazy path (see `LazyRun`), for the configuration it was made with. */
  lazy: LazyRun<any, any> | undefined
}

/**
 * Runs an HTTP app with a session per request: the handler is one unit of work that commits when it
 * succeeds with a status `commitOn` accepts, and is discarded otherwise.
 *
 * @internal
 */
export const middleware = <E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, Exclude<R, Session | SessionManager> | HttpSession> => {
  const placement: Placement = { serve: undefined, lazy: undefined }
  return Effect.withFiberRuntime((fiber, status) => {
    const context = fiber.currentContext
    // per request: one Map lookup (`Context.unsafeGet` makes two); it only says why where it misses
    const config: HttpSessionService | undefined = context.unsafeMap.get(HttpSessionTag.key)
    return start(handlerOf(app), config ?? Context.unsafeGet(context, HttpSessionTag), context, placement, status)
  })
}

/** The middleware for a configuration known when it is applied (`layerRouter`, `layerApi`). @internal */
export const middlewareWith =
  (config: HttpSessionService) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, Exclude<R, Session | SessionManager>> => {
    const placement: Placement = { serve: undefined, lazy: undefined }
    return Effect.withFiberRuntime((fiber, status) =>
      start(handlerOf(app), config, fiber.currentContext, placement, status)
    )
  }

// the handler finds its Session and SessionManager through the request (internal/current.ts): what
// it requires of them is met by their tags' defaults (internal/tags.ts), which the type of `app`
// cannot know
const handlerOf = <E, R>(app: HttpApp.Default<E, R>) => app as HttpApp.Default<E, Exclude<R, Session | SessionManager>>

const start = <E, R>(
  app: Effect.Effect<Response, E, R>,
  config: HttpSessionService,
  context: Context.Context<never>,
  placement: Placement,
  status: FiberStatus.Running
): Effect.Effect<Response, E, R> => {
  const interruptible = isInterruptible(status)
  const lazy = placement.lazy
  // the usual case, first and with no more than it needs (see LazyRun)
  if (lazy !== undefined && lazy.config === config && !interruptible) {
    // one Map lookup, as for the configuration: a middleware that placed itself has run under a request
    return lazy.run(context.unsafeMap.get(HttpServerRequest.HttpServerRequest.key))
  }
  const request = Context.unsafeGet(context, HttpServerRequest.HttpServerRequest)
  const transport = config.transport
  if (!transport.readsTime) {
    if (placement.serve === false && !interruptible) {
      return (placement.lazy = new LazyRun(app, config, placement)).run(request)
    }
    return run(app, config, request, transport.open(request, 0), placement, interruptible)
  }
  const handled = Effect.flatMap(
    Clock.currentTimeMillis,
    (now) => run(app, config, request, transport.open(request, now), placement, interruptible)
  )
  const everyResponse = transport.everyResponse
  return everyResponse === undefined
    ? handled
    // error responses are made later: a pre-response handler reaches them too
    : Effect.zipRight(
      HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(everyResponse(response))),
      handled
    )
}

type Restore = <A, E1, R1>(self: Effect.Effect<A, E1, R1>) => Effect.Effect<A, E1, R1>

/**
 * One request: its handler runs as one unit of work, made when the handler first touches the
 * session (a handler that never does costs no unit, no manager, no store call). This is
 * `runUnit` (runner.ts) unrolled for the first attempt, so that an untouched request adds as few
 * Effect operations as can be: where the server runs the app uninterruptibly (`HttpServer.serve`,
 * `HttpApp.toWebHandler`), no mask is needed to end the unit whatever happens, and none is added;
 * a conflict's re-runs go through `runUnit` itself.
 */
const run = <E, R>(
  app: Effect.Effect<Response, E, R>,
  config: HttpSessionService,
  request: HttpServerRequest.HttpServerRequest,
  opened: Opened,
  placement: Placement,
  interruptible: boolean
): Effect.Effect<Response, E, R> => {
  if (opened.redirect !== undefined) return Effect.succeed(opened.redirect)
  const state = new RequestRun(app, config, request, opened, placement)
  holderOf(request)[bindingKey] = state
  const ran: Effect.Effect<Response, E, R> = interruptible
    ? Effect.uninterruptibleMask((restore) => {
      state.restore = restore
      return state.handle(restore(app))
    })
    : state.handle(app)
  if (placement.serve === false) return ran
  // the placement is not known yet, or is the server's: end the unit before the response is
  // written (at the app's placement, the unit has ended by then and this does nothing)
  return Effect.zipRight(HttpApp.appendPreResponseHandler((_, response) => state.beforeResponse(response)), ran)
}

/**
 * The lazy path: where the placement is known to be the app's and interruption is off (the usual
 * case, from a middleware's second request on), with a transport that opens a request without the
 * time (cookie, header). The middleware binds this object, one per middleware, to the request, and
 * the request's `RequestRun` is made only when the handler first touches its session
 * (`stateOf`): a request whose handler never does costs no object of its own, no transport read
 * and no unit. After the handler, the run bound to the request by this opener, if any, ends the unit
 * as on the eager path.
 */
class LazyRun<E, R> extends SessionOpener {
  /** Bound to a request whose handler ended without touching its session (see `RequestState.over`). */
  private readonly over: SessionOpener
  constructor(
    private readonly app: Effect.Effect<Response, E, R>,
    readonly config: HttpSessionService,
    private readonly placement: Placement
  ) {
    super()
    this.over = new EndedRequest(this)
  }

  open(request: HttpServerRequest.HttpServerRequest): RequestRun<E, R> {
    return new RequestRun(this.app, this.config, request, this.config.transport.open(request, 0), this.placement, this)
  }

  // the run this opener made for the request, if its handler touched the session (a nested
  // middleware's run is its own)
  private runOf(bound: Binding | undefined): RequestRun<E, R> | undefined {
    return bound instanceof RequestRun && bound.opener === this ? bound : undefined
  }

  run(request: HttpServerRequest.HttpServerRequest): Effect.Effect<Response, E, R> {
    const holder = holderOf(request)
    holder[bindingKey] = this
    return Effect.matchCauseEffect(this.app, {
      onSuccess: (response) => {
        const bound = holder[bindingKey]
        // this opener still bound: the usual case, checked first by identity (the `instanceof` of
        // `runOf` on the opener cost about 0.05 µs a request, measured side by side)
        if (bound !== this) {
          const run = this.runOf(bound)
          if (run !== undefined) return run.ended(response)
        }
        // the handler never touched its session
        holder[bindingKey] = this.over
        return Effect.succeed(response)
      },
      // rare: the eager path's handling, on a run made now (and bound, over) if the handler made none
      onFailure: (cause) => {
        let run = this.runOf(holder[bindingKey])
        if (run === undefined) holder[bindingKey] = run = this.open(request)
        return run.failed(cause)
      }
    })
  }
}

/** What a lazy request whose handler never touched its session leaves bound: a run already over. */
class EndedRequest extends SessionOpener {
  constructor(private readonly lazy: LazyRun<any, any>) {
    super()
  }
  open(request: HttpServerRequest.HttpServerRequest): RequestState {
    const run = this.lazy.open(request)
    run.over = true
    return run
  }
}

/**
 * A request's session (`RequestState`, which the handler finds through the request) and the end of
 * its unit: one object a request, whose methods are the middleware's continuations.
 */
class RequestRun<E, R> extends RequestState {
  /** Ended in the pre-response handler (the serve-level placement): the response is written already. */
  private served = false
  /**
   * The response is that of a failed commit, or of the session store failing under a handler that
   * did not handle it: sent as it is.
   */
  private answered = false
  /** Where interruption is on: the mask's restore, for a conflict's re-runs. */
  restore: Restore = identity
  constructor(
    private readonly app: Effect.Effect<Response, E, R>,
    config: HttpSessionService,
    request: HttpServerRequest.HttpServerRequest,
    opened: Opened,
    private readonly placement: Placement,
    /** The lazy path's opener that made this run (`undefined` on the eager path). */
    readonly opener: LazyRun<E, R> | undefined = undefined
  ) {
    super(config, opened, request)
  }

  private writeBack(response: Response): Effect.Effect<Response> {
    const manager = this.managerIfMade
    // an untouched session writes nothing (see Opened.write)
    if (manager === undefined) return Effect.succeed(response)
    const outcome = manager.outcome()
    if (!outcome.touched) return Effect.succeed(response)
    const opened = this.opened
    // a remembered session's cookie is persistent (Session.rememberFor): its Max-Age needs the time
    return this.config.transport.writesTime || outcome.persistent
      ? Effect.clockWith((clock) => Effect.succeed(opened.write(response, outcome, clock.unsafeCurrentTimeMillis())))
      : Effect.succeed(opened.write(response, outcome, 0))
  }

  private answer(error: SessionStoreError | SessionConflict): Effect.Effect<Response> {
    this.answered = true
    return Effect.as(logFailure(this.store.name, error), this.config.onSessionError(error))
  }

  // the error response is made later: add the transport's headers when it is
  private writeBackLater(): Effect.Effect<void> {
    return HttpApp.appendPreResponseHandler((_, response) => this.writeBack(response))
  }

  /** A conflict's re-runs (policies `retry`, `merge-then-retry`): the runner's, from attempt 2. */
  private rerun(): Effect.Effect<Response, E, R> {
    return Effect.catchIf(
      this.restore(Effect.zipRight(
        backoff(1),
        runUnit(
          this.manager,
          (unit) => {
            this.unit = unit
            return this.app
          },
          (response) => this.config.commitOn(response.status),
          this.mode,
          2
        )
      )),
      isSessionFailure,
      (error) => this.answer(error)
    ).pipe(Effect.tapErrorCause(() => this.writeBackLater()))
  }

  /** Runs the handler (`self`: the app, under the mask's restore where interruption is on), then ends the unit. */
  handle(self: Effect.Effect<Response, E, R>): Effect.Effect<Response, E, R> {
    return Effect.matchCauseEffect(self, {
      onSuccess: (response) => this.ended(response),
      onFailure: (cause) => this.failed(cause)
    })
  }

  /** The end of the unit after the handler succeeded, where interruption is masked. */
  ended(response: Response): Effect.Effect<Response, E, R> {
    if (this.served) return Effect.succeed(response)
    this.placement.serve = false
    const unit = this.unitIfMade
    // no unit: the handler never touched its session's data (it may have asked its manager)
    if (unit === undefined) {
      this.over = true
      return this.writeBack(response)
    }
    if (!this.config.commitOn(response.status)) {
      return Effect.zipRight(unit.rollback(), Effect.suspend(() => this.writeBack(response)))
    }
    if (unit.commitIfUntouched()) return this.writeBack(response)
    return Effect.matchEffect(unit.commit(), {
      onSuccess: () => this.writeBack(response),
      onFailure: (error): Effect.Effect<Response, E, R> =>
        error._tag === "SessionConflict" && canRetry(this.manager, 1)
          ? Effect.flatMap(
            this.rerun(),
            (response) => this.answered ? Effect.succeed(response) : this.writeBack(response)
          )
          : this.answer(error)
    })
  }

  /** The end of the unit after the handler failed (or was interrupted): discarded. */
  failed(cause: Cause.Cause<E>): Effect.Effect<Response, E> {
    if (this.served) return Effect.failCause(cause)
    this.placement.serve = false
    const unit = this.unitIfMade
    this.over = unit === undefined
    const rollback = unit === undefined ? Effect.void : unit.rollback()
    // the session store failing under a handler that did not handle it: answered as a failed commit
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && isSessionFailure(failure.value)) {
      return Effect.zipRight(rollback, this.answer(failure.value))
    }
    return Effect.zipRight(rollback, Effect.zipRight(this.writeBackLater(), Effect.failCause(cause)))
  }

  /** The serve-level placement: the unit ends just before the response is written. */
  beforeResponse(response: Response): Effect.Effect<Response> {
    const unit = this.unitIfMade
    if (unit === undefined || unit.unit.status !== "open") return Effect.succeed(response)
    this.served = true
    this.placement.serve = true
    const end = this.config.commitOn(response.status) ? unit.commit() : unit.rollback()
    return Effect.matchEffect(end, {
      onSuccess: () => this.writeBack(response),
      onFailure: (error) => this.answer(error)
    })
  }
}

/**
 * Marks a handler as one that opens its own units of work: outside them it sees a closed unit
 * whose writes say to open one, and the request's own unit stays untouched (nothing to commit).
 *
 * @internal
 */
export const manual = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.contextWithEffect((context: Context.Context<never>) => {
    const current = sessionIn(context)
    if (current instanceof Unit) {
      // an HttpApi handler: ApiSession provided the request's unit itself
      return Effect.provideService(self, SessionTag, outsideUnit(current.manager))
    }
    const state = current instanceof RequestSession ? stateOf(context) : undefined
    if (state !== undefined && (state.unitIfMade === undefined || state.unitIfMade.unit.status === "open")) {
      state.unit = outsideUnit(state.manager)
    }
    return self
  })
