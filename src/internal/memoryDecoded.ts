/**
 * The memory store's cache of decoded data. The decoded data of the most recently used large
 * sessions is kept beside their text, frozen (see `isSessionData`): a load of such a session gives
 * the same object again instead of parsing its text, and the session's snapshot of that object is
 * built once (snapshot.ts), so that a load costs the same at 1 000 keys as at 10. A session whose
 * text is shorter than `MIN_CHARS` parses in a few microseconds and is not kept; at most `MAX`
 * sessions and `MAX_CHARS` characters of their text are, least recently used out first. Their
 * decoded form is not counted in `maxBytes`.
 *
 * @internal
 */
import type { SessionRecord } from "../SessionStore.js"
import { deepFreeze } from "./json.js"
import type { Entry } from "./memoryEntry.js"
import { isSessionData } from "./snapshot.js"

const MIN_CHARS = 512
const MAX = 128
const MAX_CHARS = 2 * 1024 * 1024

type Data = SessionRecord["data"]

/** @internal */
export class DecodedCache {
  /** By entry, in order of use. */
  private readonly kept = new Map<Entry, Data>()
  private chars = 0
  /** The entry last set in `kept`: the last of its order if it is still there (a use moves nothing). */
  private last: Entry | undefined = undefined

  private keep(entry: Entry, data: Data): void {
    this.kept.set(entry, data)
    this.last = entry
    this.chars += entry.data.length
    while (this.kept.size > MAX || this.chars > MAX_CHARS) this.forget(this.kept.keys().next().value!)
  }

  // the entry must be in `kept`; `last` does not keep a forgotten entry's data alive
  private forget(entry: Entry): void {
    this.kept.delete(entry)
    this.chars -= entry.data.length
    if (this.last === entry) this.last = undefined
  }

  /** The entry's data, parsed from its text or as kept decoded. */
  decode(entry: Entry): Data {
    const text = entry.data
    if (text.length < MIN_CHARS) return JSON.parse(text)
    const kept = this.kept.get(entry)
    if (kept !== undefined) {
      // a use: to the end of the order, unless it is there already (see locks.ts on why a delete
      // and an insert per request are worth avoiding)
      if (this.last !== entry) {
        this.kept.delete(entry)
        this.kept.set(entry, kept)
        this.last = entry
      }
      return kept
    }
    const data: Data = deepFreeze(JSON.parse(text))
    if (text.length <= MAX_CHARS) this.keep(entry, data)
    return data
  }

  /** The data of a commit, kept as it is for the next load, if it is worth keeping. */
  committed(entry: Entry, data: Data): void {
    const length = entry.data.length
    if (length >= MIN_CHARS && length <= MAX_CHARS && isSessionData(data)) this.keep(entry, data)
  }

  /** Forgets the entry's data (the entry left the store, or was replaced). */
  drop(entry: Entry): void {
    if (entry.data.length >= MIN_CHARS && this.kept.has(entry)) this.forget(entry)
  }

  clear(): void {
    this.kept.clear()
    this.chars = 0
    this.last = undefined
  }
}
