/**
 * Where an HTTP request's session is found without copying the fiber's context on every request:
 * the middleware binds the request's manager and current unit to the request (a property of
 * `request.source`, which `HttpRouter.mount` and route prefixes keep when they replace the
 * request object), and the `Session` and `SessionManager` services below find them through the
 * request in context. They are the defaults of those tags (tags.ts): nothing puts them in the
 * context. Anything provided closer (`Session.transaction`'s unit, `Session.open`'s manager) comes
 * first, as usual.
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { HttpSessionService } from "../HttpSession.js"
import type { InputOf, Key, SessionService, Status, ValueOf } from "../Session.js"
import type { Outcome, SessionManagerService } from "../SessionManager.js"
import type { SessionRecord, SessionStoreService } from "../SessionStore.js"
import type { Opened } from "./http/transport.js"
import { Manager } from "./manager.js"
import { Redacting } from "./snapshot.js"
import { Unit, type UnitMode } from "./unit.js"

const safeMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"])

/**
 * A request's session: its manager and the unit its handler runs as now, each made when first
 * asked for, so that a request whose handler never touches its session makes neither.
 *
 * @internal
 */
export class RequestState extends Redacting {
  private madeManager: Manager | undefined = undefined
  private madeUnit: Unit | undefined = undefined
  constructor(
    protected readonly config: HttpSessionService,
    protected readonly opened: Opened,
    private readonly request: HttpServerRequest.HttpServerRequest
  ) {
    super()
  }
  // bound to the request's source, it shows in an inspection of that object: never the id or data
  protected redacted() {
    return { _id: "effect-session/RequestSession" }
  }
  /** The store of this request: the transport's own (a sealed cookie's one record), or the layer's. */
  get store(): SessionStoreService {
    return this.opened.store ?? this.config.store
  }
  /** A request of a safe method reads without the session's lock (it takes it at a first write). */
  protected get mode(): UnitMode {
    return safeMethods.has(this.request.method) ? "read" : "write"
  }
  get manager(): Manager {
    return this.madeManager ??= new Manager(this.store, this.config.session, this.opened.id, this.opened.adopt)
  }
  /**
   * Set when the request's unit has ended with no unit made: a unit asked for later (by a fiber the
   * handler left running) is a closed one, which reads the committed data and refuses writes, as
   * the ended unit of a request that touched its session does.
   */
  over = false
  get unit(): Unit {
    return this.madeUnit ??= this.over
      ? new Unit(this.manager, "WriteNotAllowed")
      : new Unit(this.manager, undefined, this.mode)
  }
  set unit(unit: Unit) {
    this.madeUnit = unit
  }
  /** The manager, if anything asked for it (otherwise the session was not touched). */
  get managerIfMade(): Manager | undefined {
    return this.madeManager
  }
  /** The unit, if anything asked for it. */
  get unitIfMade(): Unit | undefined {
    return this.madeUnit
  }
}

/**
 * What a middleware binds to a request whose session it opens only when the handler first touches
 * it (middleware.ts): `open` makes the request's state then.
 *
 * @internal
 */
export abstract class SessionOpener extends Redacting {
  protected redacted() {
    return { _id: "effect-session/RequestSession", opened: false }
  }
  abstract open(request: HttpServerRequest.HttpServerRequest): RequestState
}

/** What is bound to a request: its state, or the opener that makes it at the first touch. @internal */
export type Binding = RequestState | SessionOpener

// a property of the request's source (one object a request): no WeakMap entry to make per request.
// `Symbol.for` is typed `symbol`; the property's type below needs the constant's own unique type
/** @internal */
export const bindingKey: unique symbol = Symbol.for("effect-session/requestBinding") as never

/** What holds a request's binding: its source, under `bindingKey`. @internal */
export interface Bindable {
  [bindingKey]?: Binding | undefined
}

/**
 * The object a request's binding is a property of: the request's source, which `HttpRouter.mount`
 * and route prefixes keep when they replace the request object. Found once a request by the
 * middleware, which reads and writes the binding there.
 *
 * @internal
 */
export const holderOf = (request: HttpServerRequest.HttpServerRequest): Bindable => {
  const source = request.source
  return (typeof source === "object" && source !== null ? source : request) as Bindable
}

/**
 * The session of the request in `context`, if a middleware runs it: opened here if it was not
 * yet (the handler's first touch).
 *
 * @internal
 */
export const stateOf = (context: Context.Context<never>): RequestState | undefined => {
  const request: HttpServerRequest.HttpServerRequest | undefined = context.unsafeMap.get(
    HttpServerRequest.HttpServerRequest.key
  )
  if (request === undefined) return undefined
  const holder = holderOf(request)
  const bound = holder[bindingKey]
  return bound instanceof SessionOpener ? (holder[bindingKey] = bound.open(request)) : bound
}

const missing = Effect.dieMessage(
  "effect-session: no session here: run this inside Session.transaction (or Session.layer) on a SessionManager, " +
    "or in an HTTP handler under HttpSession.middleware (or HttpSession.layerRouter / HttpSession.layerApi)"
)

/** Runs `f` on the session of the request in context, or dies saying where the middleware goes. @internal */
export const withState = <A, E>(f: (state: RequestState) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.contextWithEffect((context: Context.Context<never>) => {
    const state = stateOf(context)
    return state === undefined ? missing : f(state)
  })

// runs `f` on the store of the request's session (without making its manager)
const withStore = <A, E>(f: (store: SessionStoreService) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  withState((state) => f(state.store))

/**
 * The store of the request in context (its session's: a sealed cookie's one record, or the HTTP
 * layer's), reached through the request: the `store` of the HTTP handlers' `SessionManager`. It
 * declares none of the optional capabilities (`sync`, `list`, `tentative`).
 *
 * @internal
 */
class RequestStore extends Redacting implements SessionStoreService {
  readonly name = "request"
  load(id: string) {
    return withStore((store) => store.load(id))
  }
  save(id: string, record: SessionRecord, expectedVersion: number) {
    return withStore((store) => store.save(id, record, expectedVersion))
  }
  delete(id: string, expectedVersion?: number) {
    return withStore((store) => store.delete(id, expectedVersion))
  }
  deleteByUser(userId: string) {
    return withStore((store) => store.deleteByUser(userId))
  }
  readonly purge = withStore((store) => store.purge)
  protected redacted() {
    return { _id: "effect-session/SessionStore", of: "the current request" }
  }
}

/**
 * The `SessionManager` of HTTP handlers: the manager of the request in context. It is the default of
 * the `SessionManager` tag (tags.ts), so the HTTP layers need not provide it. `managerOf` (runner.ts)
 * resolves it for `Session.transaction`.
 *
 * @internal
 */
export class RequestManager extends Redacting implements SessionManagerService {
  readonly store: SessionStoreService = new RequestStore()
  readonly resolve: Effect.Effect<Manager> = withState((state) => Effect.succeed(state.manager))
  readonly id = withState((state) => state.manager.id)
  readonly isNew = withState((state) => state.manager.isNew)
  readonly expired = withState((state) => state.manager.expired)
  readonly failIfExpired = withState((state) => state.manager.failIfExpired)
  readonly committed = withState((state) => state.manager.committed)
  readonly expiresAt = withState((state) => state.manager.expiresAt)
  readonly outcome = (): Outcome => {
    // a synchronous read with no fiber to find the request by: the middleware writes the outcome itself
    throw new Error("effect-session: the outcome of an HTTP request's session is written by the middleware")
  }
  protected redacted() {
    return { _id: "effect-session/SessionManager", of: "the current request" }
  }
}

/** The default of the `SessionManager` tag (tags.ts). @internal */
export const requestManager: SessionManagerService = new RequestManager()

// outside any request (a background fiber of the server, say) the request's unit is not open: a
// Session.transaction there starts a unit of its own, on the SessionManager provided to it
const noUnit = Effect.succeed<Status>("committed")

/**
 * The `Session` of the HTTP layers: the unit the request in context runs as now (its handler's
 * unit, or under `HttpSession.manual` the closed unit outside `Session.transaction`).
 *
 * @internal
 */
export class RequestSession extends Redacting implements SessionService {
  readonly manager: SessionManagerService = requestManager
  readonly status = Effect.contextWithEffect((context: Context.Context<never>) => {
    const state = stateOf(context)
    return state === undefined ? noUnit : state.unit.status
  })
  get<K extends Key>(key: K) {
    return withState((state) => state.unit.get(key))
  }
  getOrElse<K extends Key>(key: K, orElse: () => ValueOf<K>) {
    return withState((state) => state.unit.getOrElse(key, orElse))
  }
  getOrSet<K extends Key>(key: K, orElse: () => InputOf<K>) {
    return withState((state) => state.unit.getOrSet(key, orElse))
  }
  has(key: Key) {
    return withState((state) => state.unit.has(key))
  }
  set<K extends Key>(key: K, value: InputOf<K>) {
    return withState((state) => state.unit.set(key, value))
  }
  modify<K extends Key>(key: K, f: (current: Option.Option<ValueOf<K>>) => InputOf<K>) {
    return withState((state) => state.unit.modify(key, f))
  }
  remove(key: Key) {
    return withState((state) => state.unit.remove(key))
  }
  bindUser(userId: string | undefined) {
    return withState((state) => state.unit.bindUser(userId))
  }
  rememberFor(lifetime: Duration.DurationInput | null) {
    return withState((state) => state.unit.rememberFor(lifetime))
  }
  readonly clear = withState((state) => state.unit.clear)
  readonly keys = withState((state) => state.unit.keys)
  readonly entries = withState((state) => state.unit.entries)
  readonly savepoint = withState((state) => state.unit.savepoint)
  readonly abort = withState((state) => state.unit.abort)
  readonly regenerate = withState((state) => state.unit.regenerate)
  readonly destroy = withState((state) => state.unit.destroy)
  readonly userId = withState((state) => state.unit.userId)
  protected redacted() {
    return { _id: "effect-session/Session", of: "the current request" }
  }
}

/** The default of the `Session` tag (tags.ts). @internal */
export const requestSession: SessionService = new RequestSession()
