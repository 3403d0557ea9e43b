import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { schedule } from "./timer.js"

/**
 * In-process locks, one per session id: requests of one session are serialised for the span of
 * their unit of work (the seed checked sessions out for the same reason). An entry lives while the
 * lock is held or awaited, and stays, free, after its release while the table holds at most RECENT
 * free entries (the first free one in the Map's order goes), so the table never grows with the
 * number of sessions.
 *
 * Why released entries stay: a session's requests come one after another, and an entry added at
 * every acquire and deleted at every release is a delete and an insert per request, on which a Map
 * rebuilds its table every few times. On Node 20 a `delete` and a `set` of the one key of a Map
 * cost about 0.8 µs once the Map is in V8's old generation (where a long-lived table ends up),
 * against 0.15 µs while it is young; a `get`, or a `set` of a key already there, costs the same
 * either way. A free entry is taken again by the session's next unit without touching the Map. The
 * memory store avoids the same churn (memoryStore.ts). With both changes, a counter request on the
 * memory store costs 6 to 7 µs less CPU, measured in one process beside another app (as in a server).
 *
 * @internal
 */
export interface LockEntry {
  held: boolean
  readonly waiters: Array<Waiter>
  /**
   * The number of the last release of this lock (see `LockTable.releases`), 0 when unknown: a
   * manager whose own last release has this number knows that nobody held the lock since.
   */
  lastRelease: number
  /** How many waiters ever queued on this entry: a waiter's ticket is the count before it queued. */
  tickets: number
  /** What the last holder handed to the waiter it woke (taken by that waiter, see `takeHandoff`). */
  handoff: Handoff | undefined
}

interface Waiter {
  readonly resume: () => void
  readonly ticket: number
}

/**
 * A snapshot of the session that a holder passes to the next holder, so that a request which
 * waited for the lock does not load what the previous one has just loaded or saved. `mark` is the
 * entry's ticket count when the snapshot was read from or written to the store: only a waiter that
 * was already queued then (ticket below the mark) may take it. For that waiter the snapshot was the
 * store's state at an instant within its own wait, which is what a load would have given it at that
 * instant; a write of another process since then is caught by the compare-and-set of its commit.
 */
export interface Handoff {
  readonly value: unknown
  readonly mark: number
}

/** The lock a unit holds, set the moment it is granted (so that no interruption can lose it). @internal */
export interface LockOwner {
  lock: { readonly table: LockTable; readonly id: string; readonly entry: LockEntry } | undefined
}

/** @internal */
export interface LockTable {
  /**
   * The entries of the locks held or awaited, and of up to RECENT released ones, free (their
   * `lastRelease` is what tells a manager that runs several units in a row that its snapshot is
   * still current without asking the store again: numbers, not references to managers, so that
   * nothing is kept alive). The first free entry in the Map's order goes first when there are more.
   */
  readonly entries: Map<string, LockEntry>
  /** How many entries are held or awaited (the others are free). */
  busy: number
  /** How many releases the table has seen: every release gets the next number. */
  releases: number
  /**
   * Ids that a unit of this process regenerated recently (at most RECENT): a request that still
   * presents one raced the regenerate, and must not start an empty session in its place.
   */
  readonly moved: Set<string>
}
const RECENT = 1024

const tables = new WeakMap<object, LockTable>()

/** One lock table per store instance: everything that shares a store in this process shares locks. @internal */
export const tableFor = (store: object): LockTable => {
  let table = tables.get(store)
  if (table === undefined) {
    tables.set(store, table = { entries: new Map(), busy: 0, releases: 0, moved: new Set() })
  }
  return table
}

/** Takes the lock of `id` if nobody holds it; otherwise changes nothing. @internal */
export const tryAcquire = (table: LockTable, id: string, owner: LockOwner): LockEntry | undefined => {
  let entry = table.entries.get(id)
  if (entry === undefined) {
    table.entries.set(id, entry = { held: false, waiters: [], lastRelease: 0, tickets: 0, handoff: undefined })
  }
  if (entry.held) return undefined
  entry.held = true
  table.busy++
  owner.lock = { table, id, entry }
  return entry
}

/** @internal */
export const acquire = <E>(
  table: LockTable,
  id: string,
  owner: LockOwner,
  timeout: Duration.Duration,
  onTimeout: () => E
): Effect.Effect<LockEntry, E> =>
  Effect.suspend(() => {
    const free = tryAcquire(table, id, owner)
    if (free !== undefined) return Effect.succeed(free)
    const e = table.entries.get(id)!
    // only a wait pays for a timer
    return Effect.clockWith((clock) =>
      Effect.async<LockEntry, E>((resume) => {
        let settled = false
        const waiter: Waiter = {
          resume: () => {
            settled = true
            cancel()
            owner.lock = { table, id, entry: e }
            resume(Effect.succeed(e))
          },
          ticket: e.tickets++
        }
        const leave = () => {
          const i = e.waiters.indexOf(waiter)
          if (i >= 0) e.waiters.splice(i, 1)
        }
        e.waiters.push(waiter)
        const cancel = schedule(clock, timeout, () => {
          if (settled) return
          settled = true
          leave()
          resume(Effect.fail(onTimeout()))
        })
        // interrupted while waiting: leave the queue
        return Effect.sync(() => {
          settled = true
          cancel()
          leave()
        })
      })
    )
  })

/** The ticket count of the lock the owner holds (see `Handoff`), if it holds one. @internal */
export const mark = (owner: LockOwner): number | undefined => owner.lock?.entry.tickets

/** The snapshot the previous holder handed to this one, once. @internal */
export const takeHandoff = (entry: LockEntry): Handoff | undefined => {
  const handoff = entry.handoff
  entry.handoff = undefined
  return handoff
}

/**
 * Releases the owner's lock, if it holds one: the next waiter gets it (with the holder's snapshot,
 * if it was queued before the snapshot's mark), or the entry is free (and the first free entry goes
 * when more than RECENT are). Gives the release's number (0 when the owner held no lock).
 *
 * @internal
 */
export const release = (owner: LockOwner, snapshot?: unknown, snapshotMark?: number): number => {
  const lock = owner.lock
  if (lock === undefined) return 0
  owner.lock = undefined
  const number = ++lock.table.releases
  lock.entry.lastRelease = number
  const next = lock.entry.waiters.shift()
  if (next !== undefined) {
    lock.entry.handoff = snapshot !== undefined && snapshotMark !== undefined && next.ticket < snapshotMark
      ? { value: snapshot, mark: snapshotMark }
      : undefined
    next.resume()
  } else {
    lock.entry.handoff = undefined
    lock.entry.held = false
    const table = lock.table
    table.busy--
    if (table.entries.size - table.busy > RECENT) dropFree(table)
  }
  return number
}

// the first free entry in the Map's order (the free entries are most of the table, and the oldest
// are at its start)
const dropFree = (table: LockTable): void => {
  for (const [id, entry] of table.entries) {
    if (!entry.held && entry.waiters.length === 0) {
      table.entries.delete(id)
      return
    }
  }
}

/** How many locks of a table are held or awaited (tests check that it empties). @internal */
export const size = (store: object): number => tables.get(store)?.busy ?? 0

/** How many entries a table holds, free ones included (tests check that it stays bounded). @internal */
export const entryCount = (store: object): number => tables.get(store)?.entries.size ?? 0

/** How many units wait for the lock of `id` (tests check that a wait really queued). @internal */
export const waiting = (store: object, id: string): number => tables.get(store)?.entries.get(id)?.waiters.length ?? 0

/** The number of the last release of the lock of `id` (0 when unknown). @internal */
export const lastRelease = (table: LockTable, id: string): number => table.entries.get(id)?.lastRelease ?? 0

/** Records that the session `id` was regenerated (moved to a new id) by a unit of this process. @internal */
export const markMoved = (table: LockTable, id: string): void => {
  table.moved.add(id)
  if (table.moved.size > RECENT) table.moved.delete(table.moved.values().next().value!)
}

/** Whether the session `id` was regenerated recently by a unit of this process. @internal */
export const isMoved = (table: LockTable, id: string): boolean => table.moved.size > 0 && table.moved.has(id)
