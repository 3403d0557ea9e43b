import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * In-process locks, one per session id: requests of one session are serialised for the span of
 * their unit of work (the seed checked sessions out for the same reason). An entry lives only
 * while the lock is held or awaited, so the table never grows with the number of sessions.
 *
 * @internal
 */
export interface LockEntry {
  held: boolean
  readonly waiters: Array<() => void>
  /** The manager that held it last, while the entry lived: its cached snapshot is still current. */
  lastHolder: unknown
}

/** The lock a unit holds, set the moment it is granted (so that no interruption can lose it). @internal */
export interface LockOwner {
  lock: { readonly table: LockTable; readonly id: string; readonly entry: LockEntry } | undefined
}

/** @internal */
export interface LockTable {
  readonly entries: Map<string, LockEntry>
  /**
   * Who held each recently released lock (weakly, at most RECENT ids): a manager that runs several
   * units in a row knows its snapshot is still current without asking the store again.
   */
  readonly recent: Map<string, WeakRef<object>>
}

const RECENT = 1024

const tables = new WeakMap<object, LockTable>()

/** One lock table per store instance: everything that shares a store in this process shares locks. @internal */
export const tableFor = (store: object): LockTable => {
  let table = tables.get(store)
  if (table === undefined) tables.set(store, table = { entries: new Map(), recent: new Map() })
  return table
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
    let entry = table.entries.get(id)
    if (entry === undefined) {
      table.entries.set(id, entry = { held: false, waiters: [], lastHolder: table.recent.get(id)?.deref() })
    }
    const e = entry
    if (!e.held) {
      e.held = true
      owner.lock = { table, id, entry: e }
      return Effect.succeed(e)
    }
    // only a wait pays for a timer
    const wait = Effect.async<LockEntry>((resume) => {
      const waiter = () => {
        owner.lock = { table, id, entry: e }
        resume(Effect.succeed(e))
      }
      e.waiters.push(waiter)
      // interrupted (or timed out) while waiting: leave the queue
      return Effect.sync(() => {
        const i = e.waiters.indexOf(waiter)
        if (i >= 0) e.waiters.splice(i, 1)
      })
    })
    return Effect.timeoutFail(wait, { duration: timeout, onTimeout })
  })

/** Releases the owner's lock, if it holds one: the next waiter gets it, or the entry goes. @internal */
export const release = (owner: LockOwner, holder: object): void => {
  const lock = owner.lock
  if (lock === undefined) return
  owner.lock = undefined
  lock.entry.lastHolder = holder
  const next = lock.entry.waiters.shift()
  if (next !== undefined) {
    next()
  } else {
    lock.entry.held = false
    if (lock.table.entries.get(lock.id) === lock.entry) lock.table.entries.delete(lock.id)
    const recent = lock.table.recent
    recent.delete(lock.id)
    recent.set(lock.id, new WeakRef(holder))
    if (recent.size > RECENT) recent.delete(recent.keys().next().value!)
  }
}

/** How many entries a table holds (tests check that it empties). @internal */
export const size = (store: object): number => tables.get(store)?.entries.size ?? 0

/** How many units wait for the lock of `id` (tests check that a wait really queued). @internal */
export const waiting = (store: object, id: string): number => tables.get(store)?.entries.get(id)?.waiters.length ?? 0
