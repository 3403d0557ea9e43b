/**
 * The session's state between units: an immutable snapshot (`Committed`), its conversions to and
 * from the store's record, and the values an app can reach that must not print ids or data.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { Committed, Outcome as PublicOutcome } from "../SessionManager.js"
import type { SessionRecord } from "../SessionStore.js"
import { deepFreeze, type Json } from "./json.js"

/** @internal */
export type Data = HashMap.HashMap<string, Json>

/** @internal */
export const emptyData: Data = HashMap.empty()

/**
 * The objects an app can reach (the manager, the unit, an outcome, a savepoint) hold the session's
 * id and data in plain fields. Logged, printed or turned into JSON, each shows what `redacted()`
 * gives instead: never the id, never the data.
 *
 * @internal
 */
export abstract class Redacting {
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
    readonly expiresAt: number,
    /** The session chose a lifetime of its own (`Session.rememberFor`): its cookie is persistent. */
    readonly persistent: boolean = false
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
      expiresAt: this.expiresAt,
      persistent: this.persistent
    }
  }
}

/** @internal */
export const untouchedOutcome = new Outcome(false, undefined, false, 0)

/**
 * Whether what is known of `data` (its record's object, its size) is worth remembering against it:
 * a small session is rebuilt or counted in less time than a `WeakMap` entry costs to make and
 * collect (about 0.5 µs, on every commit).
 *
 * @internal
 */
export const worthKeeping = (data: Data): boolean => HashMap.size(data) >= 16

// The data of a record whose `data` object is frozen, built once. Such an object cannot change, so
// its data is the same on every load: the memory store gives the one frozen object it holds for a
// session it keeps decoded, on every load of it, and a commit's record (`toRecord`) is frozen and
// known here from the start. A session used again is then not rebuilt key by key: a load of a
// 1 000-key session is a lookup here instead of one insert per key (`npm run bench:growth`). Weak:
// an entry lives as long as its record's object, which the session's snapshot does not hold.
const decoded = new WeakMap<object, Data>()

const toData = (record: SessionRecord): Data => {
  const source = record.data
  const frozen = Object.isFrozen(source)
  if (frozen) {
    const known = decoded.get(source)
    if (known !== undefined) return known
  }
  const keys = Object.keys(source)
  if (keys.length === 0) return emptyData
  // built in place (a transient map), not one persistent copy per key
  const data = HashMap.mutate(emptyData, (data) => {
    for (const k of keys) HashMap.set(data, k, deepFreeze(source[k]) as Json)
  })
  if (frozen) decoded.set(source, data)
  return data
}

const fromData = (data: Data): { readonly [key: string]: Json } => {
  const out: { [key: string]: Json } = {}
  HashMap.forEach(data, (v, k) => {
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true })
    else out[k] = v
  })
  // frozen JSON values in a frozen object: it is what `data` holds, for as long as it lives
  if (worthKeeping(data)) decoded.set(Object.freeze(out), data)
  return out
}

/**
 * Whether a record's `data` is one this module made or decoded: a frozen object of frozen JSON,
 * that can be kept as it is instead of encoded and decoded again (the memory store keeps those of
 * its most recently used large sessions).
 *
 * @internal
 */
export const isSessionData = (data: object): boolean => decoded.has(data)

/** The snapshot of a stored record. @internal */
export const fromRecord = (id: string, record: SessionRecord): Committed => ({
  id,
  version: record.version,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  userId: record.userId,
  data: toData(record)
})

/** The record a snapshot is stored as. @internal */
export const toRecord = (snapshot: Committed): SessionRecord => ({
  data: fromData(snapshot.data),
  version: snapshot.version,
  createdAt: snapshot.createdAt,
  expiresAt: snapshot.expiresAt,
  userId: snapshot.userId
})

/** The data of an expired record, for its `SessionTimeout`. @internal */
export const dataOf = toData

/** The keys whose values differ between two versions of the data. @internal */
export const changedKeys = (base: Data, next: Data, equal: (a: Json, b: Json) => boolean): Set<string> => {
  const changed = new Set<string>()
  for (const [key, value] of next) {
    const before = HashMap.get(base, key)
    if (Option.isNone(before) || !equal(before.value, value)) changed.add(key)
  }
  for (const key of HashMap.keys(base)) if (!HashMap.has(next, key)) changed.add(key)
  return changed
}

/** @internal */
export const jsonEqual = (a: Json, b: Json): boolean =>
  a === b ||
  (typeof a === "object" && a !== null && typeof b === "object" && b !== null &&
    JSON.stringify(a) === JSON.stringify(b))
