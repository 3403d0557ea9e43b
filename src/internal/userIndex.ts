/**
 * The sessions of each user, kept in memory by the stores that have no index of their own (memory,
 * file system), for `deleteByUser`. One implementation, so that both stores keep it the same way.
 *
 * @internal
 */

/** FNV-1a over the whole string, folded so that the low bits (a shard) depend on all of it. @internal */
export const hash = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h ^ (h >>> 16)
}

/**
 * User id -> the keys of that user's sessions (the store's own key: the id, or the file's hash).
 * The users are spread over `shards` maps (a power of two) by a hash of the user id, so that no map
 * grows large enough for a rehash to hold the event loop (see memoryStore.ts).
 *
 * @internal
 */
export class UserIndex {
  private readonly users: Array<Map<string, Set<string>>>
  private readonly mask: number

  constructor(shards = 1) {
    this.mask = shards - 1
    this.users = Array.from({ length: shards }, () => new Map())
  }

  private shard(userId: string): Map<string, Set<string>> {
    return this.users[this.mask === 0 ? 0 : hash(userId) & this.mask]!
  }

  /** Binds `key` to `userId` (nothing when unbound). */
  add(userId: string | undefined, key: string): void {
    if (userId === undefined) return
    const users = this.shard(userId)
    let keys = users.get(userId)
    if (keys === undefined) users.set(userId, keys = new Set())
    keys.add(key)
  }

  /** Unbinds `key` from `userId` (nothing when unbound or not bound). */
  remove(userId: string | undefined, key: string): void {
    if (userId === undefined) return
    const users = this.shard(userId)
    const keys = users.get(userId)
    if (keys === undefined) return
    keys.delete(key)
    if (keys.size === 0) users.delete(userId)
  }

  /** The keys bound to `userId` now, as a copy (the caller may remove them while it goes through). */
  keys(userId: string): ReadonlyArray<string> {
    const keys = this.shard(userId).get(userId)
    return keys === undefined ? [] : Array.from(keys)
  }

  /** Forgets every user. */
  clear(): void {
    for (const users of this.users) users.clear()
  }
}
