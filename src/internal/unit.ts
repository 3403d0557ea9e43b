/**
 * One unit of work: the `Session` service. It holds its snapshot and savepoints, refuses writes
 * once it is closed, and owns its lifecycle (`commit`, `rollback`, `abort`): nothing else writes
 * its state.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type { InputOf, Json, Key, ReadError, Savepoint, SessionService, Status, ValueOf } from "../Session.js"
import {
  type SessionConflict,
  SessionDataError,
  SessionStateError,
  type SessionStateErrorReason,
  type SessionStoreError
} from "../SessionError.js"
import type { Committed } from "../SessionManager.js"
import { decodeSync, encodeSync, keyName } from "./keys.js"
import type { LockOwner } from "./locks.js"
import type { Manager } from "./manager.js"
import * as metrics from "./metrics.js"
import { hasLifetime, LIFETIME_KEY } from "./options.js"
import { dataSize, entrySize, knownSize } from "./size.js"
import { type Data, emptyData, jsonEqual, Redacting } from "./snapshot.js"

/** What a unit holds; written only by its `Unit` (and its lock field by locks.ts). @internal */
export interface UnitState extends LockOwner {
  status: Status
  /**
   * `read`: the unit takes no lock to read (it reads the latest durable snapshot) and takes the
   * session's lock at its first write; its commit's compare-and-set then checks that what it read
   * is still current. `write`: it takes the lock at its first access.
   */
  mode: UnitMode
  base: Committed | undefined
  data: Data | undefined
  userId: string | undefined
  destroy: boolean
  regenerate: boolean
  readonly savepoints: Array<SavepointObject>
  /** The bytes of `data`'s JSON, counted on the first write (see `maxBytes`), then kept up to date. */
  size: number | undefined
}

/** @internal */
export type UnitMode = "read" | "write"

/** @internal */
export const SavepointTypeId: unique symbol = Symbol.for("effect-session/Savepoint")

/** A savepoint: the unit's data, user and flags at the time it was taken. @internal */
export class SavepointObject extends Redacting implements Savepoint {
  readonly [SavepointTypeId]: typeof SavepointTypeId = SavepointTypeId
  isValid = true
  readonly userId: string | undefined
  readonly destroy: boolean
  readonly regenerate: boolean
  readonly rollback: Effect.Effect<void, SessionStateError>
  readonly valid: Effect.Effect<boolean>
  constructor(owner: Unit, readonly data: Data) {
    super()
    this.userId = owner.unit.userId
    this.destroy = owner.unit.destroy
    this.regenerate = owner.unit.regenerate
    this.rollback = Effect.suspend(() => owner.rollbackTo(this))
    this.valid = Effect.sync(() => this.isValid)
  }
  protected redacted() {
    return { _id: "effect-session/Savepoint", valid: this.isValid }
  }
}

// whether `data` holds `value` under `name` already (equal JSON)
const holds = (data: Data, name: string, value: Json): boolean => {
  const current = HashMap.get(data, name)
  return Option.isSome(current) && jsonEqual(current.value, value)
}

/**
 * One unit of work. A class, so that a request that never touches its session pays for one small
 * object, not for a set of closures and effects.
 *
 * @internal
 */
export class Unit extends Redacting implements SessionService {
  readonly unit: UnitState = {
    status: "open",
    mode: "write",
    base: undefined,
    data: undefined,
    userId: undefined,
    destroy: false,
    regenerate: false,
    savepoints: [],
    lock: undefined,
    size: undefined
  }
  /**
   * A unit that is not open and never was: what a handler of `HttpSession.manual` sees outside its
   * own `Session.transaction`s. It reads the last committed data; a write says what to do.
   */
  constructor(
    readonly manager: Manager,
    private readonly closedReason?: SessionStateErrorReason | undefined,
    mode?: UnitMode
  ) {
    super()
    if (closedReason !== undefined) this.unit.status = "committed"
    if (mode !== undefined) this.unit.mode = mode
  }

  /** Makes a unit that has not touched the session yet a reader (see `UnitState.mode`). */
  readOnly(): void {
    if (this.unit.data === undefined && this.unit.status === "open") this.unit.mode = "read"
  }

  protected redacted() {
    return { _id: "effect-session/Session", status: this.unit.status, store: this.manager.store.name }
  }

  private refused(): SessionStateError {
    return new SessionStateError({ reason: this.closedReason ?? "WriteNotAllowed" })
  }

  private invalidateFrom(index: number): void {
    const savepoints = this.unit.savepoints
    for (let i = index; i < savepoints.length; i++) savepoints[i]!.isValid = false
    savepoints.length = index
  }

  // ------------------------------------------------------------------------------------------
  // lifecycle
  // ------------------------------------------------------------------------------------------

  private discardNow(): void {
    const unit = this.unit
    unit.status = "aborted"
    this.invalidateFrom(0)
    unit.data = unit.base?.data
    unit.size = undefined
    unit.userId = unit.base?.userId
    unit.destroy = false
    unit.regenerate = false
  }

  /**
   * Closes a unit that never read nor wrote the session as committed, at once: there is nothing to
   * write and no lock to release. Gives whether it did.
   */
  commitIfUntouched(): boolean {
    const unit = this.unit
    if (unit.status !== "open" || unit.data !== undefined) return false
    unit.status = "committed"
    return true
  }

  /**
   * The commit, made now: called where interruption is masked (the runner), so that the
   * continuation runs whatever the commit's end; a commit that has started completes.
   */
  commit(): Effect.Effect<void, SessionStoreError | SessionConflict> {
    if (this.unit.status !== "open" || this.commitIfUntouched()) return Effect.void
    return Effect.matchCauseEffect(this.manager.commit(this.unit), {
      onSuccess: () => {
        this.manager.end(this.unit)
        // the next unit of this session starts from this data: its size, kept up to date, goes with it
        if (this.unit.size !== undefined && this.unit.data !== undefined) knownSize(this.unit.data, this.unit.size)
        this.unit.status = "committed"
        this.invalidateFrom(0)
        return Effect.void
      },
      onFailure: (cause) => {
        this.manager.end(this.unit)
        this.discardNow()
        return Effect.failCause(cause)
      }
    })
  }

  /** Discards the unit (a failure or an interruption ended it) and releases its lock. */
  rollback(): Effect.Effect<void> {
    this.manager.end(this.unit)
    if (this.unit.status !== "open") return Effect.void
    const touched = this.unit.base !== undefined
    this.discardNow()
    return touched ? Metric.increment(metrics.unitsDiscarded) : Effect.void
  }

  /** @internal */
  rollbackTo(sp: SavepointObject): Effect.Effect<void, SessionStateError> {
    const unit = this.unit
    if (unit.status !== "open" || !sp.isValid) return Effect.fail(new SessionStateError({ reason: "InvalidSavepoint" }))
    this.invalidateFrom(unit.savepoints.indexOf(sp) + 1)
    unit.data = sp.data
    unit.size = undefined
    unit.userId = sp.userId
    unit.destroy = sp.destroy
    unit.regenerate = sp.regenerate
    return Effect.void
  }

  // ------------------------------------------------------------------------------------------
  // data
  // ------------------------------------------------------------------------------------------

  /**
   * The data's size after `name` is set to `value` (removed when undefined), kept on the unit; or
   * the error when it would pass `maxBytes` (then nothing changes).
   */
  private resize(data: Data, name: string, value: Json | undefined): SessionDataError | undefined {
    const max = this.manager.options.maxBytes
    if (max === Infinity) return undefined
    const unit = this.unit
    const before = HashMap.get(data, name)
    const size = (unit.size ?? dataSize(data)) - (Option.isSome(before) ? entrySize(name, before.value) : 0) +
      (value === undefined ? 0 : entrySize(name, value))
    if (size > max && value !== undefined) {
      return new SessionDataError({
        key: name,
        reason: "TooLarge",
        detail: `the session would hold ${size} bytes; maxBytes is ${max}`
      })
    }
    unit.size = size
    return undefined
  }

  // f on the unit's data, loaded on first access (suspended: an effect made while the unit is open
  // and run after it closed must see it closed); one step when it is loaded
  private withData<A, E>(f: (data: Data) => Effect.Effect<A, E>): Effect.Effect<A, E | SessionStoreError> {
    return Effect.suspend(() => this.useData(f))
  }

  private withWritable<A, E>(
    f: (data: Data) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | SessionStoreError | SessionStateError> {
    return Effect.suspend((): Effect.Effect<A, E | SessionStoreError | SessionStateError> => {
      const unit = this.unit
      if (unit.status !== "open") return Effect.fail(this.refused())
      // a reader's first write: the session's lock first, as a writer would have taken it
      if (unit.mode === "read" && unit.lock === undefined) {
        return Effect.zipRight(this.manager.lockForWrite(unit), this.useData(f))
      }
      return this.useData(f)
    })
  }

  private useData<A, E>(f: (data: Data) => Effect.Effect<A, E>): Effect.Effect<A, E | SessionStoreError> {
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

  private write(f: (data: Data) => Data): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.withWritable((current) => {
      this.unit.data = f(current)
      return Effect.void
    })
  }

  get status(): Effect.Effect<Status> {
    return Effect.sync(() => this.unit.status)
  }

  // every operation is one step on the loaded data: no effect per decode or encode
  get<K extends Key>(k: K): Effect.Effect<Option.Option<ValueOf<K>>, ReadError<K> | SessionStoreError> {
    return this.withData((d) => {
      const stored = HashMap.get(d, keyName(k))
      if (Option.isNone(stored)) return Effect.succeed(Option.none())
      const value = decodeSync(k, stored.value)
      return value instanceof SessionDataError
        ? Effect.fail(value as ReadError<K>)
        : Effect.succeed(Option.some(value as ValueOf<K>))
    })
  }

  getOrElse<K extends Key>(
    k: K,
    orElse: () => ValueOf<K>
  ): Effect.Effect<ValueOf<K>, ReadError<K> | SessionStoreError> {
    return Effect.map(this.get(k), Option.getOrElse(orElse))
  }

  getOrSet<K extends Key>(
    k: K,
    orElse: () => InputOf<K>
  ): Effect.Effect<ValueOf<K>, SessionDataError | SessionStateError | SessionStoreError> {
    return Effect.flatMap(
      this.get(k),
      (current) => Option.isSome(current) ? Effect.succeed(current.value) : this.modify(k, () => orElse())
    )
  }

  has(k: Key): Effect.Effect<boolean, SessionStoreError> {
    return this.withData((d) => Effect.succeed(HashMap.has(d, keyName(k))))
  }

  set<K extends Key>(
    k: K,
    value: InputOf<K>
  ): Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError> {
    return this.withWritable((d) => {
      const json = encodeSync(k, value)
      if (json instanceof SessionDataError) return Effect.fail(json)
      const name = keyName(k)
      // the value it already holds is no change: no save, no cookie (express-session's resave: false)
      if (holds(d, name, json)) return Effect.void
      const tooLarge = this.resize(d, name, json)
      if (tooLarge !== undefined) return Effect.fail(tooLarge)
      this.unit.data = HashMap.set(d, name, json)
      return Effect.void
    })
  }

  modify<K extends Key>(
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
      if (!holds(d, name, json)) {
        const tooLarge = this.resize(d, name, json)
        if (tooLarge !== undefined) return Effect.fail(tooLarge)
        this.unit.data = HashMap.set(d, name, json)
      }
      // a primitive as given; otherwise what a later get gives: the stored value, decoded and frozen
      if (typeof k !== "string" && (typeof next !== "object" || next === null)) {
        return Effect.succeed(next as ValueOf<K>)
      }
      const value = decodeSync(k, json)
      return value instanceof SessionDataError ? Effect.fail(value) : Effect.succeed(value as ValueOf<K>)
    })
  }

  remove(k: Key): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.write((d) => {
      this.resize(d, keyName(k), undefined)
      return HashMap.remove(d, keyName(k))
    })
  }

  get clear(): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.write(() => {
      this.unit.size = undefined
      return emptyData
    })
  }

  // the app's data: without the session's own lifetime (see rememberFor), when it has one
  private appData(d: Data): Data {
    return hasLifetime(d) ? HashMap.remove(d, LIFETIME_KEY) : d
  }

  get keys(): Effect.Effect<ReadonlyArray<string>, SessionStoreError> {
    return this.withData((d) => Effect.succeed(Array.from(HashMap.keys(this.appData(d)))))
  }

  get entries(): Effect.Effect<HashMap.HashMap<string, Json>, SessionStoreError> {
    return this.withData((d) => Effect.succeed(this.appData(d)))
  }

  rememberFor(
    lifetime: Duration.DurationInput | null
  ): Effect.Effect<void, SessionDataError | SessionStateError | SessionStoreError> {
    if (lifetime === null) return this.remove(LIFETIME_KEY)
    const idle = Duration.toMillis(Duration.decode(lifetime))
    if (!(idle > 0) || !Number.isFinite(idle)) {
      return Effect.fail(
        new SessionDataError({ key: LIFETIME_KEY, reason: "Encode", detail: "a lifetime must be positive and finite" })
      )
    }
    return this.set(LIFETIME_KEY, { idle })
  }

  get savepoint(): Effect.Effect<Savepoint, SessionStateError | SessionStoreError> {
    return this.withWritable((current) => {
      const sp = new SavepointObject(this, current)
      this.unit.savepoints.push(sp)
      return Effect.succeed(sp)
    })
  }

  get abort(): Effect.Effect<void, SessionStateError> {
    return Effect.suspend(() => {
      const unit = this.unit
      if (unit.status === "aborted") return Effect.void
      if (unit.status !== "open") return Effect.fail(this.refused())
      this.discardNow()
      this.manager.end(unit)
      return Effect.void
    })
  }

  get regenerate(): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.withWritable(() => {
      this.unit.regenerate = true
      return Effect.void
    })
  }

  get destroy(): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.withWritable(() => {
      const unit = this.unit
      unit.destroy = true
      unit.regenerate = false
      unit.userId = undefined
      unit.data = emptyData
      unit.size = undefined
      return Effect.void
    })
  }

  bindUser(userId: string | undefined): Effect.Effect<void, SessionStateError | SessionStoreError> {
    return this.withWritable(() => {
      this.unit.userId = userId
      return Effect.void
    })
  }

  get userId(): Effect.Effect<Option.Option<string>, SessionStoreError> {
    return this.withData(() => Effect.succeed(Option.fromNullable(this.unit.userId)))
  }
}
