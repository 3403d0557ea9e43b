import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import type { SessionService } from "../Session.js"
import {
  type SessionConflict,
  SessionDataError,
  SessionStateError,
  SessionStoreError,
  SessionTimeout
} from "../SessionError.js"
import { type SessionRecord, SessionStore, type SessionStoreService } from "../SessionStore.js"
// the option and state types are the public ones: one definition, documented there
import type { Committed, ConflictPolicy, Outcome as PublicOutcome, SessionOptions } from "../SessionManager.js"
import { generateId } from "./id.js"
import { deepFreeze, freezeJson, type Json, JsonProblem } from "./json.js"
import {
  acquire,
  type Handoff,
  type LockOwner,
  type LockTable,
  mark,
  release,
  tableFor,
  takeHandoff,
  tryAcquire
} from "./locks.js"
import * as metrics from "./metrics.js"
import { syncOf, type SyncStore } from "./syncStore.js"

// ---------------------------------------------------------------------------------------------
// keys
// ---------------------------------------------------------------------------------------------

/** @internal */
export const KeyTypeId: unique symbol = Symbol.for("effect-session/SessionKey")

/** @internal */
export interface SessionKey<A, I = A> {
  readonly [KeyTypeId]: typeof KeyTypeId
  readonly name: string
  readonly schema: Schema.Schema<A, I, never>
}

/** @internal */
export const key = <A, I>(name: string, schema: Schema.Schema<A, I, never>): SessionKey<A, I> => ({
  [KeyTypeId]: KeyTypeId,
  name,
  schema
})

/** @internal */
export type AnyKey = SessionKey<any, any> | string

/** @internal */
export type ValueOf<K> = K extends SessionKey<infer A, any> ? A : Json

/** @internal */
export type InputOf<K> = K extends SessionKey<infer A, any> ? A : unknown

/** @internal */
export type ReadError<K> = K extends SessionKey<any, any> ? SessionDataError : never

// where a value failed its schema, without the value itself: session data never goes into messages
const issuePaths = (error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "at the root" : `at ${issue.path.map((p) => `[${JSON.stringify(p)}]`).join("")}`
  )
  return Array.from(new Set(paths)).join(", ")
}

const keyName = (k: AnyKey): string => typeof k === "string" ? k : k.name

interface Codec {
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encode: (a: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

// a key's parsers, made once: typed keys are decoded and encoded synchronously, without an effect
const codecs = new WeakMap<SessionKey<any, any>, Codec>()
const codecOf = (k: SessionKey<any, any>): Codec => {
  let codec = codecs.get(k)
  if (codec === undefined) {
    codecs.set(
      k,
      codec = {
        decode: Schema.decodeUnknownEither(k.schema as Schema.Schema<unknown, unknown>),
        encode: Schema.encodeUnknownEither(k.schema as Schema.Schema<unknown, unknown>)
      }
    )
  }
  return codec
}

/** The stored (JSON) form of a value, or why it cannot be stored. @internal */
const encodeSync = (k: AnyKey, value: unknown): Json | SessionDataError => {
  if (typeof k === "string") return toJsonSync(k, value)
  const encoded = codecOf(k).encode(value)
  return Either.isLeft(encoded)
    ? new SessionDataError({ key: k.name, reason: "Encode", detail: issuePaths(encoded.left) })
    : toJsonSync(k.name, encoded.right)
}

const toJsonSync = (name: string, value: unknown): Json | SessionDataError => {
  const json = freezeJson(value)
  return json instanceof JsonProblem
    ? new SessionDataError({ key: name, reason: "NotJson", detail: json.detail })
    : json
}

/** A stored value, decoded for its key, or why it does not decode. @internal */
const decodeSync = (k: AnyKey, stored: Json): unknown => {
  if (typeof k === "string") return stored
  const decoded = codecOf(k).decode(stored)
  return Either.isLeft(decoded)
    ? new SessionDataError({ key: k.name, reason: "Decode", detail: issuePaths(decoded.left) })
    : decoded.right
}

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

/** @internal */
export const defaults = {
  idleTimeout: Duration.minutes(30),
  absoluteTimeout: Duration.hours(8),
  touchInterval: Duration.minutes(1),
  lockTimeout: Duration.seconds(5),
  onConflict: "merge",
  retryAttempts: 3
} as const

/** @internal */
export interface ResolvedOptions {
  readonly idleMillis: number
  readonly absoluteMillis: number
  readonly touchMillis: number
  readonly lockTimeout: Duration.Duration
  readonly onConflict: ConflictPolicy
  readonly retryAttempts: number
}

const policies: ReadonlyArray<ConflictPolicy> = ["fail", "retry", "merge", "merge-then-retry"]

const resolve = (options: SessionOptions = {}): ResolvedOptions => {
  const idleMillis = Duration.toMillis(options.idleTimeout ?? defaults.idleTimeout)
  const absoluteMillis = Duration.toMillis(options.absoluteTimeout ?? defaults.absoluteTimeout)
  // by default at most half the idle timeout, so that a short idle timeout still slides on reads
  const touchMillis = options.touchInterval === undefined
    ? Math.min(Duration.toMillis(defaults.touchInterval), idleMillis / 2)
    : Duration.toMillis(options.touchInterval)
  const lockTimeout = Duration.decode(options.lockTimeout ?? defaults.lockTimeout)
  const onConflict = options.onConflict ?? defaults.onConflict
  const retryAttempts = options.retryAttempts ?? defaults.retryAttempts
  if (!(idleMillis > 0) || !(absoluteMillis > 0) || !(touchMillis >= 0)) {
    throw new RangeError("effect-session: idleTimeout and absoluteTimeout must be positive, touchInterval not negative")
  }
  if (!Duration.greaterThan(lockTimeout, Duration.zero)) {
    throw new RangeError("effect-session: lockTimeout must be positive")
  }
  if (!policies.includes(onConflict)) {
    throw new RangeError(`effect-session: onConflict must be one of ${policies.join(", ")}`)
  }
  if (!Number.isInteger(retryAttempts) || retryAttempts < 1 || retryAttempts > 100) {
    throw new RangeError("effect-session: retryAttempts must be a whole number from 1 to 100")
  }
  return { idleMillis, absoluteMillis, touchMillis, lockTimeout, onConflict, retryAttempts }
}

// ---------------------------------------------------------------------------------------------
// the manager: one session across units of work
// ---------------------------------------------------------------------------------------------

/**
 * The objects an app can reach (the manager, the unit, an outcome) hold the session's id and data
 * in plain fields. Logged, printed or turned into JSON, each shows what `redacted()` gives instead:
 * never the id, never the data.
 *
 * @internal
 */
abstract class Redacting {
  protected abstract redacted(): object
  toJSON(): unknown {
    return this.redacted()
  }
  toString(): string {
    return Inspectable.format(this.redacted())
  }
  [Inspectable.NodeInspectSymbol](): unknown {
    return this.redacted()
  }
}

/**
 * What a transport needs to know after the request: the public `Outcome`, whose redacted id is
 * made only when asked for, and the plain id for the transports of this package.
 *
 * @internal
 */
export class Outcome extends Redacting implements PublicOutcome {
  constructor(
    readonly touched: boolean,
    /** The id under which the session is stored now, if it is stored. */
    readonly storedId: string | undefined,
    readonly saved: boolean,
    readonly expiresAt: number
  ) {
    super()
  }
  get id(): Option.Option<Redacted.Redacted<string>> {
    return this.storedId === undefined ? Option.none() : Option.some(Redacted.make(this.storedId))
  }
  protected redacted() {
    return {
      _id: "effect-session/Outcome",
      touched: this.touched,
      stored: this.storedId !== undefined,
      saved: this.saved,
      expiresAt: this.expiresAt
    }
  }
}

/** @internal */
export interface SessionManager {
  readonly store: SessionStoreService
  readonly options: ResolvedOptions
  readonly id: Effect.Effect<Redacted.Redacted<string>, SessionStoreError>
  readonly isNew: Effect.Effect<boolean, SessionStoreError>
  readonly expired: Effect.Effect<Option.Option<SessionTimeout>, SessionStoreError>
  readonly failIfExpired: Effect.Effect<void, SessionTimeout | SessionStoreError>
  readonly committed: Effect.Effect<Committed, SessionStoreError>
  readonly outcome: () => Outcome
  /** Whether the session was loaded (or created) at all: false for a request that never touched it. */
  readonly touched: () => boolean
  /** A unit's first access: the session's lock, and a current snapshot. */
  readonly begin: <A, E>(
    unit: UnitState,
    k: (committed: Committed) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | SessionStoreError>
  /** A unit ended: its lock goes to the next request of the session. */
  readonly end: (unit: UnitState) => void
  readonly commitUnit: (unit: UnitState) => Effect.Effect<void, SessionStoreError | SessionConflict>
}

/** @internal */
export const SessionManagerTag = Context.GenericTag<SessionManager>("effect-session/SessionManager")

/** @internal */
export interface MakeManagerOptions extends SessionOptions {
  /** The id presented by the client or the workflow, if any. */
  readonly id?: string | undefined
  /**
   * Whether an id the store does not hold is taken as the id of the new session (a workflow that
   * names its session) or replaced by a fresh one (anything a client sent: fixation defence).
   */
  readonly adoptUnknownId?: boolean | undefined
}

/** Resolves the options once, for many managers (throws a RangeError for a wrong option). @internal */
export const prepare = (options: SessionOptions): ResolvedOptions => resolve(options)

/** @internal */
export const newId = generateId

const emptyData: HashMap.HashMap<string, Json> = HashMap.empty()

const toData = (record: SessionRecord): HashMap.HashMap<string, Json> => {
  const keys = Object.keys(record.data)
  if (keys.length === 0) return emptyData
  // built in place (a transient map), not one persistent copy per key
  return HashMap.mutate(emptyData, (data) => {
    for (const k of keys) HashMap.set(data, k, deepFreeze(record.data[k]) as Json)
  })
}

const toRecord = (snapshot: Committed): SessionRecord => ({
  data: fromData(snapshot.data),
  version: snapshot.version,
  createdAt: snapshot.createdAt,
  expiresAt: snapshot.expiresAt,
  userId: snapshot.userId
})

const fromData = (data: HashMap.HashMap<string, Json>): { [key: string]: Json } => {
  const out: { [key: string]: Json } = {}
  for (const [k, v] of data) {
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true })
    else out[k] = v
  }
  return out
}

/** @internal */
export const makeManager = (options: MakeManagerOptions = {}): Effect.Effect<SessionManager, never, SessionStore> =>
  Effect.map(SessionStore, (store) => unsafeMakeManager(store, options))

/** @internal */
export const unsafeMakeManager = (store: SessionStoreService, options: MakeManagerOptions = {}): SessionManager =>
  new Manager(store, resolve(options), options.id, options.adoptUnknownId ?? false)

/** A manager for options resolved once (see `prepare`): what the middleware makes per request. @internal */
export const unsafeMakeManagerFor = (
  store: SessionStoreService,
  resolved: ResolvedOptions,
  id: string | undefined,
  adoptUnknownId: boolean
): SessionManager => new Manager(store, resolved, id, adoptUnknownId)

const untouchedOutcome = new Outcome(false, undefined, false, 0)

type CommitOutcome = "unchanged" | "touched" | "saved" | "created" | "merged" | "regenerated" | "destroyed"

/**
 * A session's manager: the snapshot it last committed, and the units that run on it. A class, not a
 * set of closures: a request pays for one object, and one that never touches its session for
 * nothing more (the lock table and the store's synchronous operations are looked up on first use).
 */
class Manager extends Redacting implements SessionManager {
  private state: Committed | undefined = undefined
  private isNewSession = false
  private expiredRecord: SessionTimeout | undefined = undefined
  private saved = false
  // the cached snapshot may be behind the store (a commit of ours failed)
  private stale = false
  // the snapshot last read from or written to the store under a unit's lock, and the lock's ticket
  // count then: what this manager may hand to a request of the session that waits for the lock
  // (see Handoff in locks.ts), so that the waiter does not load it again
  private observed: Committed | undefined = undefined
  private observedMark: number | undefined = undefined
  // the number of this manager's last release of the session's lock (0: none; see locks.ts)
  private released = 0
  private lockTable: LockTable | undefined = undefined
  // the store's synchronous operations: null until looked up, undefined when it has none
  private syncOps: SyncStore | undefined | null = null

  constructor(
    readonly store: SessionStoreService,
    readonly options: ResolvedOptions,
    private readonly presented: string | undefined,
    private readonly adopt: boolean
  ) {
    super()
  }

  protected redacted() {
    return { _id: "effect-session/SessionManager", store: this.store.name, loaded: this.state !== undefined }
  }

  private get locks(): LockTable {
    return this.lockTable ??= tableFor(this.store)
  }
  private get sync(): SyncStore | undefined {
    return this.syncOps === null ? this.syncOps = syncOf(this.store) : this.syncOps
  }

  // made when asked for: most requests never ask
  get id(): Effect.Effect<Redacted.Redacted<string>, SessionStoreError> {
    return Effect.map(this.committed, (s) => Redacted.make(s.id))
  }
  get isNew(): Effect.Effect<boolean, SessionStoreError> {
    return Effect.map(this.committed, () => this.isNewSession)
  }
  get expired(): Effect.Effect<Option.Option<SessionTimeout>, SessionStoreError> {
    return Effect.map(this.committed, () => Option.fromNullable(this.expiredRecord))
  }
  get failIfExpired(): Effect.Effect<void, SessionTimeout | SessionStoreError> {
    return Effect.flatMap(
      this.committed,
      () => this.expiredRecord === undefined ? Effect.void : Effect.fail(this.expiredRecord)
    )
  }
  get committed(): Effect.Effect<Committed, SessionStoreError> {
    return Effect.suspend(() =>
      this.state !== undefined
        ? Effect.succeed(this.state)
        : withClockAndSpans((clock, spans) => this.firstLoad(clock.unsafeCurrentTimeMillis(), spans))
    )
  }

  touched(): boolean {
    return this.state !== undefined
  }

  outcome(): Outcome {
    const state = this.state
    return state === undefined
      ? untouchedOutcome
      : new Outcome(true, state.version > 0 ? state.id : undefined, this.saved, state.expiresAt)
  }

  private observe(owner: LockOwner | undefined, snapshot: Committed): Committed {
    this.observed = snapshot
    this.observedMark = owner === undefined ? undefined : mark(owner)
    return snapshot
  }

  // the snapshot handed to a unit that waited, taken as the current state if it is of this
  // session and still valid
  private adoptHandoff(handoff: Handoff | undefined, id: string, now: number): Committed | undefined {
    if (handoff === undefined) return undefined
    const snapshot = handoff.value as Committed
    if (snapshot.id !== id || snapshot.expiresAt <= now) return undefined
    this.observed = this.state = snapshot
    this.observedMark = handoff.mark
    return snapshot
  }

  private expiryFor(now: number, createdAt: number): number {
    return Math.min(now + this.options.idleMillis, createdAt + this.options.absoluteMillis)
  }

  private fresh(now: number, id: string): Committed {
    return { id, version: 0, createdAt: now, expiresAt: this.expiryFor(now, now), userId: undefined, data: emptyData }
  }

  // a store load, in a span when spans are made (store and whether a record was found; never the
  // id or data)
  private loadTraced(id: string, spans: boolean) {
    const store = this.store
    const load = Effect.tapErrorTag(store.load(id), "SessionStoreError", () => Metric.increment(metrics.storeErrors))
    return spans
      ? Effect.withSpan(
        Effect.tap(load, (found) => Effect.annotateCurrentSpan("session.found", Option.isSome(found))),
        "effect-session.load",
        { attributes: { "session.store": store.name } }
      )
      : load
  }

  // the first load: decides the id, whether the session is new, whether it expired
  private firstLoad(now: number, spans: boolean, owner?: LockOwner): Effect.Effect<Committed, SessionStoreError> {
    const presented = this.presented
    if (presented === undefined) {
      this.isNewSession = true
      return Effect.succeed(this.state = this.fresh(now, generateId()))
    }
    return Effect.flatMap(
      this.loadTraced(presented, spans),
      (found) => this.settleFirstLoad(presented, found, now, owner)
    )
  }

  private settleFirstLoad(
    presented: string,
    found: Option.Option<SessionRecord>,
    now: number,
    owner: LockOwner | undefined
  ): Effect.Effect<Committed> {
    // two first loads ran at once (direct manager calls outside units): the first one decided
    if (this.state !== undefined) return Effect.succeed(this.state)
    if (Option.isNone(found)) {
      this.isNewSession = true
      return Effect.succeed(this.state = this.fresh(now, this.adopt ? presented : generateId()))
    }
    const record = found.value
    if (record.expiresAt <= now) {
      this.expiredRecord = new SessionTimeout({
        sessionId: Redacted.make(presented),
        expiredAt: record.expiresAt,
        reason: record.createdAt + this.options.absoluteMillis <= record.expiresAt ? "Absolute" : "Idle",
        data: toData(record)
      })
      this.isNewSession = true
      const state = this.state = this.fresh(now, generateId())
      // the expired record is reported once: the next request presenting it finds nothing
      return Effect.as(
        Effect.zipRight(
          Effect.zipRight(
            Metric.increment(metrics.sessionsExpired),
            Effect.logDebug("effect-session: session expired")
          ),
          Effect.ignore(this.store.delete(presented))
        ),
        state
      )
    }
    return Effect.succeed(this.state = this.observe(owner, fromRecord(presented, record)))
  }

  // a later load of a stored session: someone else may have committed since
  private reload(
    current: Committed,
    now: number,
    spans: boolean,
    owner: LockOwner
  ): Effect.Effect<Committed, SessionStoreError> {
    return Effect.map(this.loadTraced(current.id, spans), (found) => {
      if (Option.isNone(found) && current.version === 0) return current // still not stored
      if (Option.isNone(found) || found.value.expiresAt <= now) {
        // destroyed or expired meanwhile by another request: a new session from here on
        this.isNewSession = true
        return this.state = this.fresh(now, generateId())
      }
      return this.state = this.observe(owner, fromRecord(current.id, found.value))
    })
  }

  private lockTimedOut(): SessionStoreError {
    metrics.storeErrors.unsafeUpdate(1, [])
    return new SessionStoreError({
      store: this.store.name,
      operation: "lock",
      detail: "timed out waiting for another request of the same session"
    })
  }

  // a unit's first access: take the session's lock, make sure the snapshot is current, go on with k
  begin<A, E>(
    unit: UnitState,
    k: (committed: Committed) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | SessionStoreError> {
    const hadState = this.state !== undefined
    const id = this.state?.id ?? this.presented
    // a new session without a presented id: its random id is made first (no store call)
    if (id === undefined) {
      return Effect.flatMap(Effect.flatMap(this.committed, (s) => this.lockThenLoad(unit, s.id, false)), k)
    }
    const sync = this.sync
    if (sync !== undefined && !hadState) {
      // a synchronous store, a free lock, no spans: the first load in this one step
      return withClockAndSpans((clock, spans) => {
        if (spans || tryAcquire(this.locks, id, unit) === undefined) {
          return Effect.flatMap(this.lockThenLoad(unit, id, false), k)
        }
        const now = clock.unsafeCurrentTimeMillis()
        const found = sync.load(id)
        // the common case (a stored session, still valid) at once; the others as settleFirstLoad says
        if (this.state === undefined && Option.isSome(found) && found.value.expiresAt > now) {
          return k(this.state = this.observe(unit, fromRecord(id, found.value)))
        }
        return Effect.flatMap(this.settleFirstLoad(id, found, now, unit), k)
      })
    }
    return Effect.flatMap(this.lockThenLoad(unit, id, hadState), k)
  }

  private lockThenLoad(unit: UnitState, id: string, hadState: boolean): Effect.Effect<Committed, SessionStoreError> {
    return Effect.flatMap(
      acquire(this.locks, id, unit, this.options.lockTimeout, () => this.lockTimedOut()),
      (entry) => {
        // the previous holder's snapshot, if it handed one to us (we waited for it)
        const handoff = entry.handoff === undefined ? undefined : takeHandoff(entry)
        if (this.state === undefined) {
          return withClockAndSpans((clock, spans) => {
            const now = clock.unsafeCurrentTimeMillis()
            const adopted = this.adoptHandoff(handoff, id, now)
            return adopted !== undefined ? Effect.succeed(adopted) : this.firstLoad(now, spans, unit)
          })
        }
        // loaded just before, by a call outside a unit; or nobody else held the lock since we did;
        // or a new session with a random id, which nobody else can know
        const current = this.state
        if (!hadState) return Effect.succeed(current)
        if (
          !this.stale &&
          ((this.released !== 0 && entry.lastRelease === this.released) || (current.version === 0 && !this.adopt))
        ) {
          return Effect.succeed(current)
        }
        this.stale = false
        return withClockAndSpans((clock, spans) => {
          const now = clock.unsafeCurrentTimeMillis()
          const adopted = this.adoptHandoff(handoff, current.id, now)
          return adopted !== undefined ? Effect.succeed(adopted) : this.reload(current, now, spans, unit)
        })
      }
    )
  }

  // a unit ended: its lock goes to the next request of the session; a snapshot that is the store's
  // (read or written under this lock, no failed commit since) goes with it to the next waiter
  end(unit: UnitState): void {
    const state = this.state
    const number = !this.stale && state !== undefined && state === this.observed && state.version > 0 &&
        unit.lock?.id === state.id
      ? release(unit, state, this.observedMark)
      : release(unit)
    if (number !== 0) this.released = number
  }

  // the snapshot a save writes: the next version, the idle deadline moved
  private nextSnapshot(
    id: string,
    base: Committed,
    data: HashMap.HashMap<string, Json>,
    userId: string | undefined,
    now: number,
    expectedVersion: number
  ): Committed {
    return {
      id,
      version: expectedVersion + 1,
      createdAt: base.createdAt,
      expiresAt: this.expiryFor(now, base.createdAt),
      userId,
      data
    }
  }

  // a compare-and-set save of a snapshot nextSnapshot made, which expects the version before its
  // own; the snapshot is the new state
  private save(next: Committed): Effect.Effect<Committed, SessionStoreError | SessionConflict> {
    return Effect.as(this.store.save(next.id, toRecord(next), next.version - 1), next)
  }

  // three-way merge by key against the snapshot the unit started from
  private merge(
    base: Committed,
    ours: HashMap.HashMap<string, Json>,
    userId: string | undefined,
    now: number,
    attempt: number,
    conflict: SessionConflict
  ): Effect.Effect<Committed, SessionStoreError | SessionConflict> {
    return Effect.flatMap(this.store.load(base.id), (found) => {
      if (Option.isNone(found) || found.value.expiresAt <= now) return Effect.fail(conflict)
      const theirs = fromRecord(base.id, found.value)
      const changedByUs = changedKeys(base.data, ours, (a, b) => a === b)
      const changedByThem = changedKeys(base.data, theirs.data, jsonEqual)
      for (const key of changedByUs) if (changedByThem.has(key)) return Effect.fail(conflict)
      const userChangedByUs = userId !== base.userId
      if (userChangedByUs && theirs.userId !== base.userId) return Effect.fail(conflict)
      let merged = theirs.data
      for (const key of changedByUs) {
        const value = HashMap.get(ours, key)
        merged = Option.isSome(value) ? HashMap.set(merged, key, value.value) : HashMap.remove(merged, key)
      }
      const mergedUser = userChangedByUs ? userId : theirs.userId
      return Effect.catchTag(
        this.save(this.nextSnapshot(base.id, theirs, merged, mergedUser, now, theirs.version)),
        "SessionConflict",
        (again) =>
          attempt < this.options.retryAttempts
            ? this.merge(theirs, merged, mergedUser, now, attempt + 1, again)
            : Effect.fail(again)
      )
    })
  }

  private commitBody(
    unit: UnitState,
    base: Committed,
    data: HashMap.HashMap<string, Json>,
    now: number
  ): Effect.Effect<CommitOutcome, SessionStoreError | SessionConflict> {
    // the common case in one step: a stored session whose data changed
    if (!unit.destroy && !unit.regenerate && base.version > 0 && (data !== base.data || unit.userId !== base.userId)) {
      return this.saveUnderPolicy(unit, base, data, unit.userId, now, "saved")
    }
    return this.commitSlow(unit, base, data, now)
  }

  // a compare-and-set save of the unit's data; a conflict is merged when the policy says so
  private saveUnderPolicy(
    unit: UnitState,
    current: Committed,
    data: HashMap.HashMap<string, Json>,
    userId: string | undefined,
    now: number,
    outcome: CommitOutcome
  ): Effect.Effect<CommitOutcome, SessionStoreError | SessionConflict> {
    const write = this.save(this.nextSnapshot(current.id, current, data, userId, now, current.version))
    const mergeable = this.options.onConflict === "merge" || this.options.onConflict === "merge-then-retry"
    let merged = false
    return Effect.map(
      mergeable
        ? Effect.catchTag(write, "SessionConflict", (conflict) => {
          merged = true
          return this.merge(current, data, userId, now, 1, conflict)
        })
        : write,
      (next) => {
        this.state = this.observe(unit, next)
        this.saved = true
        return merged ? "merged" : outcome
      }
    )
  }

  private commitSlow(
    unit: UnitState,
    base: Committed,
    data: HashMap.HashMap<string, Json>,
    now: number
  ): Effect.Effect<CommitOutcome, SessionStoreError | SessionConflict> {
    return Effect.gen(this, function*() {
      let current = base
      let outcome: CommitOutcome = "saved"
      if (unit.destroy) {
        // the old session is gone; what the unit wrote after destroy starts a new one
        if (current.version > 0) yield* this.store.delete(current.id)
        current = this.fresh(now, generateId())
        this.state = current
        this.isNewSession = true
        outcome = "destroyed"
      } else if (unit.regenerate) {
        const newId = generateId()
        if (current.version > 0) {
          this.state = yield* this.save(this.nextSnapshot(newId, current, data, unit.userId, now, 0))
          this.saved = true
          yield* this.store.delete(current.id)
          return "regenerated"
        }
        current = { ...current, id: newId }
        this.state = current
      }
      const dataChanged = data !== current.data || unit.userId !== current.userId
      if (current.version === 0) {
        // never save an empty session
        if (HashMap.size(data) === 0) return outcome === "destroyed" ? outcome : "unchanged"
        if (outcome !== "destroyed") outcome = "created"
      } else if (!dataChanged) {
        // unchanged: move the idle deadline only when it moves by at least touchInterval
        const moved = this.expiryFor(now, current.createdAt) - current.expiresAt
        if (moved < this.options.touchMillis || moved <= 0) return "unchanged"
        // a touch that loses a race is harmless: whoever won moved the deadline too
        const touched = yield* Effect.either(
          this.save(this.nextSnapshot(current.id, current, current.data, current.userId, now, current.version))
        )
        if (touched._tag === "Right") {
          this.state = this.observe(unit, touched.right)
          this.saved = true
        } else if (touched.left._tag === "SessionStoreError") {
          return yield* touched.left
        }
        return "touched"
      }
      return yield* this.saveUnderPolicy(unit, current, data, unit.userId, now, outcome)
    })
  }

  // called when the unit ends (inside commit's suspension): the effect is made then, not before
  commitUnit(unit: UnitState): Effect.Effect<void, SessionStoreError | SessionConflict> {
    const base = unit.base
    const data = unit.data
    if (base === undefined || data === undefined) return Effect.void // never touched
    return withClockAndSpans((clock, spans) => {
      const start = clock.unsafeCurrentTimeMillis()
      // nothing to write (read-only, no deadline to move): no span, no metric, no store call
      if (!unit.destroy && !unit.regenerate && data === base.data && unit.userId === base.userId) {
        if (base.version === 0) return Effect.void
        const moved = this.expiryFor(start, base.createdAt) - base.expiresAt
        if (moved < this.options.touchMillis || moved <= 0) return Effect.void
      }
      // a synchronous store, no spans, the common case (a stored session whose data changed): the
      // save in this one step; a conflict goes the general way below, which settles it by policy
      const sync = this.sync
      if (
        sync !== undefined && !spans && !unit.destroy && !unit.regenerate && base.version > 0 &&
        (data !== base.data || unit.userId !== base.userId)
      ) {
        const next = this.nextSnapshot(base.id, base, data, unit.userId, start, base.version)
        if (sync.save(base.id, toRecord(next), base.version, start) === undefined) {
          this.state = this.observe(unit, next)
          this.saved = true
          metrics.recordCommit("saved", clock.unsafeCurrentTimeMillis() - start)
          return Effect.void
        }
      }
      const body = this.commitBody(unit, base, data, start).pipe(
        Effect.matchCauseEffect({
          onSuccess: (outcome) => {
            if (outcome === "unchanged") return Effect.void
            // the metrics of a commit in one step: this is on every writing request's path
            metrics.recordCommit(outcome, clock.unsafeCurrentTimeMillis() - start)
            return spans ? Effect.annotateCurrentSpan("session.outcome", outcome) : Effect.void
          },
          onFailure: (cause) => {
            this.stale = true
            const failure = Cause.failureOption(cause)
            const tag = Option.isSome(failure) ? failure.value._tag : "defect"
            return Effect.zipRight(
              Effect.all([
                spans
                  ? Effect.annotateCurrentSpan("session.outcome", tag === "SessionConflict" ? "conflict" : "error")
                  : Effect.void,
                tag === "SessionConflict"
                  ? Metric.increment(Metric.tagged(metrics.conflicts, "resolution", "failed"))
                  : Metric.increment(metrics.storeErrors),
                Effect.logDebug(`effect-session: commit failed (${tag})`).pipe(
                  Effect.annotateLogs("session.store", this.store.name)
                )
              ], { discard: true }),
              Effect.failCause(cause)
            )
          }
        })
      )
      return spans
        ? Effect.withSpan(body, "effect-session.commit", { attributes: { "session.store": this.store.name } })
        : body
    })
  }
}

const fromRecord = (id: string, record: SessionRecord): Committed => ({
  id,
  version: record.version,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  userId: record.userId,
  data: toData(record)
})

// Effect's built-in tracer, which nobody exports from: spans are made only when an app installed a
// tracer of its own (e.g. @effect/opentelemetry), so that the default path stays short
let builtInTracer: Tracer.Tracer | undefined

/**
 * The fiber's clock, and whether spans are made (an app installed a tracer), read from its default
 * services in one step. @internal
 */
const withClockAndSpans = <A, E, R>(
  f: (clock: Clock.Clock, spans: boolean) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const services = fiber.getFiberRef(DefaultServices.currentServices)
    const tracer = Context.get(services, Tracer.Tracer)
    builtInTracer ??= Context.get(DefaultServices.liveServices, Tracer.Tracer)
    return f(Context.get(services, Clock.Clock), tracer !== builtInTracer)
  })

const changedKeys = (
  base: HashMap.HashMap<string, Json>,
  next: HashMap.HashMap<string, Json>,
  equal: (a: Json, b: Json) => boolean
): Set<string> => {
  const changed = new Set<string>()
  for (const [key, value] of next) {
    const before = HashMap.get(base, key)
    if (Option.isNone(before) || !equal(before.value, value)) changed.add(key)
  }
  for (const key of HashMap.keys(base)) if (!HashMap.has(next, key)) changed.add(key)
  return changed
}

const jsonEqual = (a: Json, b: Json): boolean => a === b || JSON.stringify(a) === JSON.stringify(b)

// ---------------------------------------------------------------------------------------------
// the unit of work
// ---------------------------------------------------------------------------------------------

/** @internal */
export type UnitStatus = "open" | "committed" | "aborted"

/** @internal */
export interface UnitState extends LockOwner {
  status: UnitStatus
  base: Committed | undefined
  data: HashMap.HashMap<string, Json> | undefined
  userId: string | undefined
  destroy: boolean
  regenerate: boolean
  savepoints: Array<SavepointImpl>
}

/** @internal */
export const SavepointTypeId: unique symbol = Symbol.for("effect-session/Savepoint")

/** @internal */
export interface Savepoint {
  readonly [SavepointTypeId]: typeof SavepointTypeId
  /** Restores the unit's data to this point; may be called many times while the savepoint is valid. */
  readonly rollback: Effect.Effect<void, SessionStateError>
  /** Whether a rollback to this savepoint is still possible. */
  readonly valid: Effect.Effect<boolean>
}

interface SavepointImpl extends Savepoint {
  isValid: boolean
  readonly data: HashMap.HashMap<string, Json>
  readonly userId: string | undefined
  readonly destroy: boolean
  readonly regenerate: boolean
}

/** A savepoint: the unit's data, user and flags at the time it was taken. */
class SavepointObject extends Redacting implements SavepointImpl {
  readonly [SavepointTypeId]: typeof SavepointTypeId = SavepointTypeId
  isValid = true
  readonly userId: string | undefined
  readonly destroy: boolean
  readonly regenerate: boolean
  readonly rollback: Effect.Effect<void, SessionStateError>
  readonly valid: Effect.Effect<boolean>
  constructor(unit: UnitState, readonly data: HashMap.HashMap<string, Json>) {
    super()
    this.userId = unit.userId
    this.destroy = unit.destroy
    this.regenerate = unit.regenerate
    this.rollback = Effect.suspend(() => rollbackTo(unit, this))
    this.valid = Effect.sync(() => this.isValid)
  }
  protected redacted() {
    return { _id: "effect-session/Savepoint", valid: this.isValid }
  }
}

/** @internal */
export interface Session extends Omit<SessionService, "manager"> {
  readonly manager: SessionManager
  readonly unit: UnitState
}

/** @internal */
export const SessionTag = Context.GenericTag<Session>("effect-session/Session")

const writeNotAllowed = () => new SessionStateError({ reason: "WriteNotAllowed" })
const invalidSavepoint = () => new SessionStateError({ reason: "InvalidSavepoint" })

const invalidateFrom = (unit: UnitState, index: number) => {
  for (let i = index; i < unit.savepoints.length; i++) unit.savepoints[i]!.isValid = false
  unit.savepoints.length = index
}

/**
 * One unit of work. A class, so that a request that never touches its session pays for one small
 * object, not for a set of closures and effects.
 *
 * @internal
 */
class Unit extends Redacting implements Session {
  readonly unit: UnitState = {
    status: "open",
    base: undefined,
    data: undefined,
    userId: undefined,
    destroy: false,
    regenerate: false,
    savepoints: [],
    lock: undefined
  }
  constructor(readonly manager: SessionManager) {
    super()
  }

  protected redacted() {
    return { _id: "effect-session/Session", status: this.unit.status, store: this.manager.store.name }
  }

  // the data of the unit: loaded from the manager's last committed snapshot on first access
  // (suspended: an effect made while the unit is open and run after it closed must see it closed)
  private get data(): Effect.Effect<HashMap.HashMap<string, Json>, SessionStoreError> {
    return this.withData(Effect.succeed)
  }

  // f on the unit's data, loaded on first access; one step when it is loaded
  private withData<A, E>(
    f: (data: HashMap.HashMap<string, Json>) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | SessionStoreError> {
    return Effect.suspend(() => this.useData(f))
  }

  private withWritable<A, E>(
    f: (data: HashMap.HashMap<string, Json>) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | SessionStoreError | SessionStateError> {
    return Effect.suspend((): Effect.Effect<A, E | SessionStoreError | SessionStateError> =>
      this.unit.status === "open" ? this.useData(f) : Effect.fail(writeNotAllowed())
    )
  }

  private useData<A, E>(
    f: (data: HashMap.HashMap<string, Json>) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | SessionStoreError> {
    const unit = this.unit
    if (unit.data !== undefined) return f(unit.data)
    // a closed unit that never read anything shows the last committed data, without a lock
    if (unit.status !== "open") {
      return Effect.flatMap(this.manager.committed, (committed) => f(unit.data ?? (unit.data = committed.data)))
    }
    return this.manager.begin(unit, (committed) => {
      if (unit.data === undefined) {
        unit.base = committed
        unit.userId = committed.userId
        unit.data = committed.data
      }
      return f(unit.data)
    })
  }

  private get writable(): Effect.Effect<HashMap.HashMap<string, Json>, SessionStoreError | SessionStateError> {
    return this.withWritable(Effect.succeed)
  }

  private write(f: (data: HashMap.HashMap<string, Json>) => HashMap.HashMap<string, Json>) {
    return Effect.map(this.writable, (current) => void (this.unit.data = f(current)))
  }

  get status(): Effect.Effect<UnitStatus> {
    return Effect.sync(() => this.unit.status)
  }

  // every operation is one step on the loaded data: no effect per decode or encode
  get<K extends AnyKey>(k: K): Effect.Effect<Option.Option<ValueOf<K>>, ReadError<K> | SessionStoreError> {
    return this.withData((d) => {
      const stored = HashMap.get(d, keyName(k))
      if (Option.isNone(stored)) return Effect.succeed(Option.none())
      const value = decodeSync(k, stored.value)
      return value instanceof SessionDataError
        ? Effect.fail(value as ReadError<K>)
        : Effect.succeed(Option.some(value as ValueOf<K>))
    })
  }

  getOrElse<K extends AnyKey>(
    k: K,
    orElse: () => ValueOf<K>
  ): Effect.Effect<ValueOf<K>, ReadError<K> | SessionStoreError> {
    return Effect.map(this.get(k), Option.getOrElse(orElse))
  }

  getOrSet<K extends AnyKey>(
    k: K,
    orElse: () => InputOf<K>
  ): Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError> {
    return Effect.flatMap(
      this.get(k),
      (current) => Option.isSome(current) ? Effect.succeed(current.value) : this.modify(k, () => orElse())
    )
  }

  has(k: AnyKey): Effect.Effect<boolean, SessionStoreError> {
    return Effect.map(this.data, HashMap.has(keyName(k)))
  }

  set<K extends AnyKey>(
    k: K,
    value: InputOf<K>
  ): Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError> {
    return this.withWritable((d) => {
      const json = encodeSync(k, value)
      if (json instanceof SessionDataError) return Effect.fail(json)
      this.unit.data = HashMap.set(d, keyName(k), json)
      return Effect.void
    })
  }

  modify<K extends AnyKey>(
    k: K,
    f: (current: Option.Option<ValueOf<K>>) => InputOf<K>
  ): Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError> {
    return this.withWritable((d): Effect.Effect<ValueOf<K>, SessionDataError> => {
      const name = keyName(k)
      const stored = HashMap.get(d, name)
      let current: Option.Option<ValueOf<K>> = Option.none()
      if (Option.isSome(stored)) {
        const value = decodeSync(k, stored.value)
        if (value instanceof SessionDataError) return Effect.fail(value)
        current = Option.some(value as ValueOf<K>)
      }
      const next = f(current)
      const json = encodeSync(k, next)
      if (json instanceof SessionDataError) return Effect.fail(json)
      this.unit.data = HashMap.set(d, name, json)
      // a typed key gives back the value as given; a plain key its stored (frozen) copy
      return Effect.succeed((typeof k === "string" ? json : next) as ValueOf<K>)
    })
  }

  remove(k: AnyKey): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.write(HashMap.remove(keyName(k)))
  }

  get clear(): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.write(() => emptyData)
  }

  get keys(): Effect.Effect<ReadonlyArray<string>, SessionStoreError> {
    return Effect.map(this.data, (d) => Array.from(HashMap.keys(d)))
  }

  get entries(): Effect.Effect<HashMap.HashMap<string, Json>, SessionStoreError> {
    return this.data
  }

  get savepoint(): Effect.Effect<Savepoint, SessionStateError | SessionStoreError> {
    const unit = this.unit
    return Effect.map(this.writable, (current) => {
      const sp = new SavepointObject(unit, current)
      unit.savepoints.push(sp)
      return sp
    })
  }

  get abort(): Effect.Effect<void, SessionStateError> {
    return Effect.suspend(() => {
      const unit = this.unit
      if (unit.status === "aborted") return Effect.void
      if (unit.status !== "open") return Effect.fail(writeNotAllowed())
      discard(unit)
      this.manager.end(unit)
      return Effect.void
    })
  }

  get regenerate(): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return Effect.map(this.writable, () => void (this.unit.regenerate = true))
  }

  get destroy(): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return Effect.map(this.writable, () => {
      const unit = this.unit
      unit.destroy = true
      unit.regenerate = false
      unit.userId = undefined
      unit.data = emptyData
    })
  }

  bindUser(userId: string | undefined): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return Effect.map(this.writable, () => void (this.unit.userId = userId))
  }

  get userId(): Effect.Effect<Option.Option<string>, SessionStoreError> {
    return Effect.map(this.data, () => Option.fromNullable(this.unit.userId))
  }
}

const rollbackTo = (unit: UnitState, sp: SavepointImpl): Effect.Effect<void, SessionStateError> => {
  if (unit.status !== "open" || !sp.isValid) return Effect.fail(invalidSavepoint())
  const index = unit.savepoints.indexOf(sp)
  invalidateFrom(unit, index + 1)
  unit.data = sp.data
  unit.userId = sp.userId
  unit.destroy = sp.destroy
  unit.regenerate = sp.regenerate
  return Effect.void
}

/** @internal */
export const makeUnit = (manager: SessionManager): Session => new Unit(manager)

const discard = (unit: UnitState) => {
  unit.status = "aborted"
  invalidateFrom(unit, 0)
  unit.data = unit.base?.data
  unit.userId = unit.base?.userId
  unit.destroy = false
  unit.regenerate = false
}

/** @internal */
export const commit = (session: Session): Effect.Effect<void, SessionStoreError | SessionConflict> =>
  Effect.suspend(() => commitNow(session))

/**
 * The commit, made now: for callers that run when the unit ends (a continuation of its effect),
 * which need no suspension. @internal
 */
export const commitNow = (session: Session): Effect.Effect<void, SessionStoreError | SessionConflict> => {
  const unit = session.unit
  if (unit.status !== "open" || commitIfUntouched(session)) return Effect.void
  // always called where interruption is masked (transaction, middleware, layer release): the
  // continuation runs whatever the commit's end
  return Effect.matchCauseEffect(session.manager.commitUnit(unit), {
    onSuccess: () => {
      session.manager.end(unit)
      unit.status = "committed"
      invalidateFrom(unit, 0)
      return Effect.void
    },
    onFailure: (cause) => {
      session.manager.end(unit)
      discard(unit)
      return Effect.failCause(cause)
    }
  })
}

/**
 * Closes a unit that never read nor wrote the session as committed, at once: there is nothing to
 * write and no lock to release. Gives whether it did.
 *
 * @internal
 */
export const commitIfUntouched = (session: Session): boolean => {
  const unit = session.unit
  if (unit.status !== "open" || unit.data !== undefined) return false
  unit.status = "committed"
  return true
}

/** @internal */
export const rollback = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => {
    const unit = session.unit
    session.manager.end(unit)
    if (unit.status !== "open") return Effect.void
    const touched = unit.base !== undefined
    discard(unit)
    return touched ? Metric.increment(metrics.unitsDiscarded) : Effect.void
  })

// ---------------------------------------------------------------------------------------------
// transaction and layer
// ---------------------------------------------------------------------------------------------

/** @internal */
export const transaction = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SessionStoreError | SessionConflict, Exclude<R, Session> | SessionManager> =>
  Effect.flatMap(Effect.serviceOption(SessionTag), (
    parent
  ): Effect.Effect<A, E | SessionStoreError | SessionConflict, Exclude<R, Session> | SessionManager> => {
    if (Option.isSome(parent) && parent.value.unit.status === "open") {
      return nested(parent.value, self) as Effect.Effect<A, E, Exclude<R, Session>>
    }
    return Effect.flatMap(SessionManagerTag, (manager) => {
      const attempt = (n: number): Effect.Effect<A, E | SessionStoreError | SessionConflict, never> =>
        Effect.uninterruptibleMask((restore) => {
          const session = makeUnit(manager)
          return Effect.flatMap(
            Effect.exit(restore(Effect.provideService(self, SessionTag, session))),
            (exit): Effect.Effect<A, E | SessionStoreError | SessionConflict, never> =>
              Exit.isSuccess(exit)
                ? Effect.catchTag(
                  Effect.as(commit(session), exit.value),
                  "SessionConflict",
                  (conflict) =>
                    canRetry(manager, n) ? restore(Effect.zipRight(backoff(n), attempt(n + 1))) : Effect.fail(conflict)
                )
                : Effect.zipRight(rollback(session), exit)
          )
        }) as Effect.Effect<A, E | SessionStoreError | SessionConflict, never>
      return attempt(1)
    })
  })

/** Whether a unit whose commit met a conflict may run again (policies `retry`, `merge-then-retry`). @internal */
export const canRetry = (manager: SessionManager, attempt: number): boolean =>
  (manager.options.onConflict === "retry" || manager.options.onConflict === "merge-then-retry") &&
  attempt < manager.options.retryAttempts

/** A small jittered backoff before attempt `n + 1`: 5 ms × 2^(n-1), ±50 %. @internal */
export const backoff = (attempt: number): Effect.Effect<void> =>
  Effect.zipRight(
    Metric.increment(Metric.tagged(metrics.conflicts, "resolution", "retried")),
    Effect.flatMap(
      Random.nextRange(0.5, 1.5),
      (jitter) => Effect.sleep(Duration.millis(5 * 2 ** (attempt - 1) * jitter))
    )
  )

const nested = <A, E, R>(session: Session, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.either(session.savepoint), (sp) => {
      // the savepoint can only fail when the unit cannot be loaded: run the effect, it will fail too
      if (sp._tag === "Left") return restore(self)
      return Effect.flatMap(Effect.exit(restore(self)), (exit) =>
        Exit.isSuccess(exit)
          ? exit
          : Effect.zipRight(Effect.ignore(sp.right.rollback), exit))
    })
  )

/** A commit that failed in the layer form: a defect, since a finalizer cannot fail. @internal */
export class SessionCommitFailed extends Error {
  readonly _tag = "SessionCommitFailed"
  constructor(readonly error: SessionStoreError | SessionConflict) {
    super(`Session commit failed when the Session layer was released: ${error.message}`)
    this.name = "SessionCommitFailed"
  }
}

/** @internal */
export const layer: Layer.Layer<Session, never, SessionManager> = Layer.scoped(
  SessionTag,
  Effect.flatMap(SessionManagerTag, (manager) =>
    Effect.acquireRelease(
      Effect.sync(() => makeUnit(manager)),
      (session, exit) =>
        Exit.isSuccess(exit)
          ? Effect.catchAll(commit(session), (error) => Effect.die(new SessionCommitFailed(error)))
          : rollback(session)
    ))
)

/** @internal */
export const layerManager = (options: MakeManagerOptions): Layer.Layer<SessionManager, never, SessionStore> =>
  Layer.effect(SessionManagerTag, makeManager(options))
