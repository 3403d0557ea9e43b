/**
 * The memory store's compact form of one stored session (memoryStore.ts keeps them in its shards):
 * what it holds in place of a `SessionRecord`, and what `maxBytes` counts for it.
 *
 * @internal
 */
import type { SessionRecord } from "../SessionStore.js"

/**
 * What one session costs besides its id and data text, as `maxBytes` counts it, on the safe side:
 * a `{count:1}` session takes 226-237 bytes of heap in all (`npm run bench:memory`), where
 * `maxBytes` counts 294 for it (this, its 43-character id and its 11-character text).
 *
 * @internal
 */
export const ENTRY_BYTES = 240

/**
 * Compact form of one stored session: the data as one JSON string, and in place of its creation
 * time, its age at expiry. An epoch-milliseconds time is a number object of its own (16 bytes a
 * session); an age under 2^30 ms (12 days) is a small integer that V8 keeps in the object itself.
 * So that `age` only ever holds small integers (one other value would make V8 box it in every
 * entry), a session bound to a user, or whose age is not such an integer, is an `EntryWithExtras`;
 * most are plain entries.
 *
 * @internal
 */
export class Entry {
  constructor(
    readonly data: string,
    readonly version: number,
    readonly expiresAt: number,
    /** `expiresAt - createdAt`, a small integer (0 in an `EntryWithExtras` that keeps `createdAt`). */
    readonly age: number,
    /** The store's use count when this was last loaded or saved: orders the entries of all shards by use. */
    public used: number
  ) {}
}

/** An entry bound to a user, or whose creation time its age cannot give back exactly. */
class EntryWithExtras extends Entry {
  constructor(
    data: string,
    version: number,
    expiresAt: number,
    used: number,
    readonly createdAt: number,
    readonly userId: string | undefined
  ) {
    super(data, version, expiresAt, 0, used)
  }
}

const SMALL_AGE = 2 ** 30

/** @internal */
export const makeEntry = (data: string, record: SessionRecord, used: number): Entry => {
  const age = record.expiresAt - record.createdAt
  // exact: an integer age from integer times gives the creation time back
  return record.userId === undefined && Number.isInteger(age) && age > -SMALL_AGE && age < SMALL_AGE &&
      record.expiresAt - age === record.createdAt
    ? new Entry(data, record.version, record.expiresAt, age, used)
    : new EntryWithExtras(data, record.version, record.expiresAt, used, record.createdAt, record.userId)
}

/** @internal */
export const userOf = (entry: Entry): string | undefined => entry instanceof EntryWithExtras ? entry.userId : undefined
/** @internal */
export const createdAtOf = (entry: Entry): number =>
  entry instanceof EntryWithExtras ? entry.createdAt : entry.expiresAt - entry.age

/** @internal */
export const bytesOf = (id: string, data: string) => id.length + data.length + ENTRY_BYTES
