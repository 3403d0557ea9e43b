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
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { HttpSession, HttpSessionService } from "../../HttpSession.js"
import type { Session } from "../../Session.js"
import { SessionConflict, SessionStoreError } from "../../SessionError.js"
import type { SessionManager } from "../../SessionManager.js"
import { bind, RequestSession, type RequestState, stateOf } from "../current.js"
import { outsideUnit, runUnit, unsafeMakeManagerFor } from "../runner.js"
import { SessionTag } from "../tags.js"
import { Unit } from "../unit.js"
import { HttpSessionTag } from "./config.js"
import type { Opened } from "./transport.js"

type Response = HttpServerResponse.HttpServerResponse

const safeMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"])

const isSessionFailure = (u: unknown): u is SessionStoreError | SessionConflict =>
  u instanceof SessionStoreError || u instanceof SessionConflict

// what a failed commit leaves in the log: the store's name and the error's tag, never an id or data
const logFailure = (message: string, store: string, error: SessionStoreError | SessionConflict) =>
  Effect.annotateLogs(Effect.logWarning(`effect-session: ${message}`), { store, error: error._tag })

/**
 * Where a middleware was put, learnt from its first request. `HttpServer.serve(app, middleware)`
 * and `HttpApiBuilder.serve(middleware)` give it the app that writes the response itself: the
 * unit must then end in a pre-response handler, just before the response is written.
 */
interface Placement {
  serve: boolean | undefined
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
  const placement: Placement = { serve: undefined }
  return Effect.contextWithEffect((context: Context.Context<HttpSession | HttpServerRequest.HttpServerRequest>) =>
    start(handlerOf(app), Context.get(context, HttpSessionTag), context, placement)
  )
}

/** The middleware for a configuration known when it is applied (`layerRouter`, `layerApi`). @internal */
export const middlewareWith =
  (config: HttpSessionService) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, Exclude<R, Session | SessionManager>> => {
    const placement: Placement = { serve: undefined }
    return Effect.contextWithEffect((context: Context.Context<HttpServerRequest.HttpServerRequest>) =>
      start(handlerOf(app), config, context, placement)
    )
  }

// the handler finds its Session and SessionManager through the request (internal/current.ts): what
// it requires of them is met by the services the HTTP layers put in the context at start-up, which
// the type of `app` cannot know
const handlerOf = <E, R>(app: HttpApp.Default<E, R>) => app as HttpApp.Default<E, Exclude<R, Session | SessionManager>>

const start = <E, R>(
  app: Effect.Effect<Response, E, R>,
  config: HttpSessionService,
  context: Context.Context<HttpServerRequest.HttpServerRequest>,
  placement: Placement
): Effect.Effect<Response, E, R> => {
  const request = Context.get(context, HttpServerRequest.HttpServerRequest)
  const transport = config.transport
  if (!transport.readsTime) return run(app, config, request, transport.open(request, 0), placement)
  const handled = Effect.flatMap(
    Clock.currentTimeMillis,
    (now) => run(app, config, request, transport.open(request, now), placement)
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

const run = <E, R>(
  app: Effect.Effect<Response, E, R>,
  config: HttpSessionService,
  request: HttpServerRequest.HttpServerRequest,
  opened: Opened,
  placement: Placement
): Effect.Effect<Response, E, R> => {
  if (opened.redirect !== undefined) return Effect.succeed(opened.redirect)
  const store = opened.store ?? config.store
  const manager = unsafeMakeManagerFor(store, config.session, opened.id, opened.adopt)
  const writeBack = (response: Response): Effect.Effect<Response> => {
    const outcome = manager.outcome()
    // a remembered session's cookie is persistent (Session.rememberFor): its Max-Age needs the time
    return config.transport.writesTime || outcome.persistent
      ? Effect.clockWith((clock) => Effect.succeed(opened.write(response, outcome, clock.unsafeCurrentTimeMillis())))
      : Effect.succeed(opened.write(response, outcome, 0))
  }
  const answer = (message: string, error: SessionStoreError | SessionConflict) =>
    Effect.as(logFailure(message, store.name, error), config.onSessionError(error))
  let state: RequestState | undefined
  // ended in the pre-response handler (the serve-level placement): the response is written already
  let served = false
  // the response of a failed commit, or of the session store failing under a handler that did not
  // handle it: sent as it is
  let answered = false
  const ran = runUnit(
    manager,
    (unit) => {
      if (state === undefined) {
        state = { unit, manager }
        bind(request, state)
      } else {
        state.unit = unit // a run again after a conflict
      }
      return app
    },
    (response) => config.commitOn(response.status),
    // a request of a safe method reads without the session's lock (it takes it at a first write)
    safeMethods.has(request.method) ? "read" : "write"
  ).pipe(
    Effect.catchIf(isSessionFailure, (error) => {
      answered = true
      return answer("the session's commit failed", error)
    }),
    Effect.matchCauseEffect({
      onSuccess: (response) => {
        if (served) return Effect.succeed(response)
        placement.serve = false
        return answered ? Effect.succeed(response) : writeBack(response)
      },
      onFailure: (cause) => {
        if (served) return Effect.failCause(cause)
        placement.serve = false
        // the error response is made later: add the transport's headers when it is
        return Effect.zipRight(
          HttpApp.appendPreResponseHandler((_, response) => writeBack(response)),
          Effect.failCause(cause)
        )
      }
    })
  )
  if (placement.serve === false) return ran
  // the placement is not known yet, or is the server's: end the unit before the response is
  // written (at the app's placement, the unit has ended by then and this does nothing)
  return Effect.zipRight(
    HttpApp.appendPreResponseHandler((_, response) => {
      const unit = state?.unit
      if (unit === undefined || unit.unit.status !== "open") return Effect.succeed(response)
      served = true
      placement.serve = true
      const end = config.commitOn(response.status) ? unit.commit() : unit.rollback()
      return Effect.matchEffect(end, {
        onSuccess: () => writeBack(response),
        onFailure: (error) => answer("the session's commit failed", error)
      })
    }),
    ran
  )
}

/**
 * Marks a handler as one that opens its own units of work: outside them it sees a closed unit
 * whose writes say to open one, and the request's own unit stays untouched (nothing to commit).
 *
 * @internal
 */
export const manual = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.contextWithEffect((context: Context.Context<never>) => {
    const current: unknown = context.unsafeMap.get(SessionTag.key)
    if (current instanceof Unit) {
      // an HttpApi handler: ApiSession provided the request's unit itself
      return Effect.provideService(self, SessionTag, outsideUnit(current.manager))
    }
    const state = current instanceof RequestSession ? stateOf(context) : undefined
    if (state !== undefined && state.unit.unit.status === "open") state.unit = outsideUnit(state.manager)
    return self
  })
