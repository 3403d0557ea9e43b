/**
 * The session across units of work: its id, the store, the last durable snapshot, whether it is
 * new and whether the presented session had expired. Loads, checks expiry at every unit's first
 * touch, serialises a session's writers with the in-process lock, and commits a unit's plan.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import { type SessionConflict, SessionStoreError, SessionTimeout } from "../SessionError.js"
import type { Committed, SessionManagerService } from "../SessionManager.js"
import type { SessionRecord, SessionStoreService } from "../SessionStore.js"
import { execute, type Executor } from "./commit.js"
import { generateId } from "./id.js"
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
import { expiryFor, type ResolvedOptions } from "./options.js"
import { plan } from "./plan.js"
import { emptyData, fromRecord, Outcome, Redacting, toRecord, untouchedOutcome } from "./snapshot.js"
import { syncOf, type SyncStore } from "./syncStore.js"
import type { UnitState } from "./unit.js"

// Effect's built-in tracer, which nobody exports from: spans are made only when an app installed a
// tracer of its own (e.g. @effect/opentelemetry), so that the default path stays short
let builtInTracer: Tracer.Tracer | undefined

/** The fiber's clock, and whether spans are made (an app installed a tracer), in one step. @internal */
export const withClockAndSpans = <A, E, R>(
  f: (clock: Clock.Clock, spans: boolean) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const services = fiber.getFiberRef(DefaultServices.currentServices)
    const tracer = Context.get(services, Tracer.Tracer)
    builtInTracer ??= Context.get(DefaultServices.liveServices, Tracer.Tracer)
    return f(Context.get(services, Clock.Clock), tracer !== builtInTracer)
  })

/**
 * A session's manager: the snapshot it last committed, and the units that run on it. A class, not a
 * set of closures: a request pays for one object, and one that never touches its session for
 * nothing more (the lock table and the store's synchronous operations are looked up on first use).
 *
 * @internal
 */
export class Manager extends Redacting implements SessionManagerService, Executor {
  private state: Committed | undefined = undefined
  private isNewSession = false
  private expiredRecord: SessionTimeout | undefined = undefined
  private saved = false
  // the cached snapshot may be behind the store (a commit of ours failed, a touch lost a race)
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
    /**
     * Whether the presented id is the session's, whatever the store holds: an id the store does
     * not hold, or whose session expired, is kept for the new session (a workflow that named its
     * session). Otherwise a fresh random id replaces it (a client's id: fixation defence).
     */
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
  get sync(): SyncStore | undefined {
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
    return withClockAndSpans((clock, spans) => {
      const now = clock.unsafeCurrentTimeMillis()
      const state = this.state
      if (state === undefined) return this.firstLoad(now, spans)
      return state.expiresAt > now ? Effect.succeed(state) : this.expire(state, now)
    })
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

  private fresh(now: number, id: string): Committed {
    this.isNewSession = true
    return {
      id,
      version: 0,
      createdAt: now,
      expiresAt: expiryFor(this.options, now, now),
      userId: undefined,
      data: emptyData
    }
  }

  // the id of a session that starts afresh in place of `id` (gone or expired)
  private freshId(id: string): string {
    return this.adopt ? id : generateId()
  }

  /**
   * The session `snapshot` expired (its deadline is at or before `now`): the app is told once, with
   * its data, and a fresh session replaces it, under the same id when that id was chosen by the
   * app. The stored record is deleted, so that the next manager on that id does not report it again.
   */
  private expire(snapshot: Committed, now: number): Effect.Effect<Committed> {
    const state = this.state = this.fresh(now, this.freshId(snapshot.id))
    this.stale = false
    if (snapshot.version === 0) return Effect.succeed(state) // never stored: nothing was lost
    this.expiredRecord = new SessionTimeout({
      sessionId: Redacted.make(snapshot.id),
      expiredAt: snapshot.expiresAt,
      reason: snapshot.createdAt + this.options.absoluteMillis <= snapshot.expiresAt ? "Absolute" : "Idle",
      data: snapshot.data
    })
    return Effect.as(
      Effect.zipRight(
        Effect.zipRight(Metric.increment(metrics.sessionsExpired), Effect.logDebug("effect-session: session expired")),
        Effect.ignore(this.store.delete(snapshot.id))
      ),
      state
    )
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
    if (presented === undefined) return Effect.succeed(this.state = this.fresh(now, generateId()))
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
    if (Option.isNone(found)) return Effect.succeed(this.state = this.fresh(now, this.freshId(presented)))
    const snapshot = fromRecord(presented, found.value)
    if (snapshot.expiresAt <= now) return this.expire(snapshot, now)
    return Effect.succeed(this.state = this.observe(owner, snapshot))
  }

  // a later load of a stored session: someone else may have committed since
  private reload(
    current: Committed,
    now: number,
    spans: boolean,
    owner: LockOwner
  ): Effect.Effect<Committed, SessionStoreError> {
    return Effect.flatMap(this.loadTraced(current.id, spans), (found) => {
      if (Option.isNone(found)) {
        // still not stored; or destroyed meanwhile by another unit: a new session from here on
        return Effect.succeed(current.version === 0 ? current : this.state = this.fresh(now, this.freshId(current.id)))
      }
      const snapshot = fromRecord(current.id, found.value)
      if (snapshot.expiresAt <= now) return this.expire(snapshot, now)
      return Effect.succeed(this.state = this.observe(owner, snapshot))
    })
  }

  lockTimedOut(): SessionStoreError {
    metrics.storeErrors.unsafeUpdate(1, [])
    return new SessionStoreError({
      store: this.store.name,
      operation: "lock",
      detail: "timed out waiting for another request of the same session"
    })
  }

  /** A unit's first access: the session's lock, a current and unexpired snapshot, then `k`. */
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
        return withClockAndSpans((clock, spans) => {
          const now = clock.unsafeCurrentTimeMillis()
          if (this.state === undefined) {
            const adopted = this.adoptHandoff(handoff, id, now)
            return adopted !== undefined ? Effect.succeed(adopted) : this.firstLoad(now, spans, unit)
          }
          const current = this.state
          // every unit checks expiry at its first touch, whatever is cached
          if (current.expiresAt <= now) return this.expire(current, now)
          // loaded just before, by a call outside a unit; or nobody else held the lock since we did;
          // or a new session with a random id, which nobody else can know
          if (!hadState) return Effect.succeed(current)
          if (
            !this.stale &&
            ((this.released !== 0 && entry.lastRelease === this.released) || (current.version === 0 && !this.adopt))
          ) {
            return Effect.succeed(current)
          }
          this.stale = false
          const adopted = this.adoptHandoff(handoff, current.id, now)
          return adopted !== undefined ? Effect.succeed(adopted) : this.reload(current, now, spans, unit)
        })
      }
    )
  }

  /**
   * A unit ended: its lock goes to the next request of the session; a snapshot that is the store's
   * (read or written under this lock, no failed commit since) goes with it to the next waiter.
   */
  end(unit: UnitState): void {
    const state = this.state
    const number = !this.stale && state !== undefined && state === this.observed && state.version > 0 &&
        unit.lock?.id === state.id
      ? release(unit, state, this.observedMark)
      : release(unit)
    if (number !== 0) this.released = number
  }

  /** The commit of a unit that read or wrote the session: its plan, carried out. */
  commit(unit: UnitState): Effect.Effect<void, SessionStoreError | SessionConflict> {
    const base = unit.base
    const data = unit.data
    if (base === undefined || data === undefined) return Effect.void // never touched
    return withClockAndSpans((clock, spans) => {
      const start = clock.unsafeCurrentTimeMillis()
      const changes = { data, userId: unit.userId, destroy: unit.destroy, regenerate: unit.regenerate }
      const todo = plan(base, changes, start, this.options, generateId)
      // nothing to write: no span, no metric, no store call
      if (todo._tag === "Unchanged") {
        this.state = todo.next
        return Effect.void
      }
      // a synchronous store, no spans, the common case (a stored session whose data changed): the
      // save in this one step; a conflict goes the general way below, which settles it by policy
      const sync = this.sync
      if (sync !== undefined && !spans && todo._tag === "Save") {
        const next = todo.next
        if (sync.save(next.id, toRecord(next), base.version, start) === undefined) {
          this.state = this.observe(unit, next)
          this.saved = true
          metrics.recordCommit("saved", clock.unsafeCurrentTimeMillis() - start)
          return Effect.void
        }
      }
      const body = execute(this, todo, base, changes, start).pipe(
        Effect.matchCauseEffect({
          onSuccess: (done) => {
            this.state = done.saved ? this.observe(unit, done.next) : done.next
            this.saved ||= done.saved
            this.stale = done.stale
            if (done.outcome === "destroyed") this.isNewSession = true
            // the metrics of a commit in one step: this is on every writing request's path
            metrics.recordCommit(done.outcome, clock.unsafeCurrentTimeMillis() - start)
            return spans ? Effect.annotateCurrentSpan("session.outcome", done.outcome) : Effect.void
          },
          onFailure: (cause) => this.commitFailed(cause, spans)
        })
      )
      return spans
        ? Effect.withSpan(body, "effect-session.commit", { attributes: { "session.store": this.store.name } })
        : body
    })
  }

  private commitFailed<E extends SessionStoreError | SessionConflict>(
    cause: Cause.Cause<E>,
    spans: boolean
  ): Effect.Effect<never, E> {
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
}
