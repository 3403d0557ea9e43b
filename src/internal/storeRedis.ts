import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { ClusterNode, ClusterOptions, RedisOptions } from "ioredis"
import { Cluster, Redis } from "ioredis"
import { SessionConflict, SessionStoreError } from "../SessionError.js"
import type { SessionRecord, SessionStoreService } from "../SessionStore.js"
import { SessionStore } from "../SessionStore.js"
import type { RedisStoreConfig, RedisStoreOptions } from "../SessionStore/Redis.js"
import { decodeRecord, encodeRecord } from "./record.js"
import { defaultTimeout, retainMillis, storeError } from "./storeCommon.js"
import { withTimeout } from "./storeTimeout.js"

const STORE = "redis"

/** @internal */
export const defaultPrefix = "effect-session:"

/**
 * The key of a session: `<prefix>s:{<id>}`. The hash tag is the id, so that sessions spread over the
 * slots of a cluster and every operation on one session touches one slot.
 *
 * @internal
 */
export const sessionKey = (prefix: string, id: string): string => `${prefix}s:{${id}}`

/**
 * The key of a user's index: a sorted set of session ids scored by the time (epoch milliseconds,
 * from `Clock`) until which each may be kept; hash-tagged by the user id.
 *
 * @internal
 */
export const userKey = (prefix: string, userId: string): string => `${prefix}u:{${userId}}`

// A session is a hash: r = the record (encodeRecord), v = its version (the compare-and-set token),
// u = its user id (absent when unbound).

// KEYS[1] session; ARGV: expected version, new version, record, has user ("1"/"0"), user id, px
const SAVE = `
local current = redis.call('HGET', KEYS[1], 'v')
if current == false then current = 0 else current = tonumber(current) end
if current ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'u', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`

// KEYS[1] user index; ARGV: session id, keep-until (ms), now (ms)
const INDEX = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] == nil then return 0 end
local px = tonumber(last[2]) - tonumber(ARGV[3])
if px < 1 then px = 1 end
redis.call('PEXPIRE', KEYS[1], px)
return 1
`

// KEYS[1] session; ARGV[1] user id
const DELETE_IF_USER = `
if redis.call('HGET', KEYS[1], 'u') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

interface Scripts {
  readonly effectSessionSave: (key: string, ...args: Array<string | number>) => Promise<number>
  readonly effectSessionIndex: (key: string, ...args: Array<string | number>) => Promise<number>
  readonly effectSessionDeleteIfUser: (key: string, userId: string) => Promise<number>
}

const defineScripts = (client: Redis | Cluster): Scripts => {
  // EVALSHA, falling back to EVAL (ioredis loads the script on NOSCRIPT); one key each
  client.defineCommand("effectSessionSave", { numberOfKeys: 1, lua: SAVE })
  client.defineCommand("effectSessionIndex", { numberOfKeys: 1, lua: INDEX })
  client.defineCommand("effectSessionDeleteIfUser", { numberOfKeys: 1, lua: DELETE_IF_USER })
  return client as unknown as Scripts
}

const DELETE_CONCURRENCY = 16
const ZREM_CHUNK = 500

/** The options every client this store makes gets, before the caller's own. @internal */
export const clientDefaults = {
  // connect in the layer, so that a wrong address fails the layer, not the first request
  lazyConnect: true,
  // commands fail at once while disconnected instead of waiting in a queue (the client reconnects
  // in the background with its retry strategy)
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  // concurrent requests' commands go out in one write
  enableAutoPipelining: true
} as const

const connectionCount = (options: RedisStoreOptions): number =>
  (options.url !== undefined ? 1 : 0) + (options.nodes !== undefined ? 1 : 0) + (options.client !== undefined ? 1 : 0)

/** @internal */
export const makeClient = (
  options: RedisStoreOptions
): Effect.Effect<Redis | Cluster, SessionStoreError, Scope.Scope> =>
  Effect.suspend(() => {
    if (connectionCount(options) !== 1) {
      return Effect.fail(
        new SessionStoreError({
          store: STORE,
          operation: "connect",
          detail: "give exactly one of url, nodes and client"
        })
      )
    }
    if (options.client !== undefined) return Effect.succeed(options.client)
    // the store's timeout is the client's own command timeout: no timer per call on our side
    const commandTimeout = Duration.toMillis(options.timeout ?? defaultTimeout)
    const create = (): Redis | Cluster => {
      if (options.url !== undefined) {
        return new Redis(Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url, {
          ...clientDefaults,
          commandTimeout,
          ...options.redisOptions
        })
      }
      const { connectTimeout, maxRetriesPerRequest, ...clusterDefaults } = clientDefaults
      return new Cluster(options.nodes as Array<ClusterNode>, {
        ...clusterDefaults,
        ...options.clusterOptions,
        redisOptions: { maxRetriesPerRequest, connectTimeout, commandTimeout, ...options.clusterOptions?.redisOptions }
      })
    }
    return Effect.acquireRelease(
      Effect.flatMap(Effect.try({ try: create, catch: storeError(STORE, "connect") }), (client) => {
        // errors reach the caller through the failed commands; without a listener ioredis would print
        // every reconnect attempt as an "unhandled error event"
        client.on("error", () => {})
        return Effect.tryPromise({
          try: () => client.connect(),
          catch: (cause) => {
            client.disconnect()
            return new SessionStoreError({ store: STORE, operation: "connect", cause })
          }
        }).pipe(Effect.as(client))
      }),
      (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
    )
  })

/** @internal */
export const make = (
  options: RedisStoreOptions
): Effect.Effect<SessionStoreService, SessionStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = options.prefix ?? defaultPrefix
    const retain = retainMillis(options.retainExpired)
    const client = yield* makeClient(options)
    const scripts = defineScripts(client)

    const run = <A>(operation: SessionStoreError["operation"], f: () => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: storeError(STORE, operation) })

    const load = (id: string) =>
      Effect.map(
        run("load", () => client.hget(sessionKey(prefix, id), "r")),
        (text) => text === null ? Option.none<SessionRecord>() : decodeRecord(text)
      )

    const save = (id: string, record: SessionRecord, expectedVersion: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const text = yield* Effect.try({ try: () => encodeRecord(record), catch: storeError(STORE, "save") })
        // Redis removes the key itself once the retention after expiry is over: a relative TTL computed
        // from the app's Clock, so that the deadline is the same as the other stores'
        const keepUntil = record.expiresAt + retain
        const px = Math.max(1, keepUntil - now)
        if (record.userId !== undefined) {
          // the index first: a crash between the two leaves an index entry without its session (harmless:
          // deleteByUser checks the session's user), never a bound session missing from the index
          const userId = record.userId
          yield* run("save", () => scripts.effectSessionIndex(userKey(prefix, userId), id, keepUntil, now))
        }
        const saved = yield* run("save", () =>
          scripts.effectSessionSave(
            sessionKey(prefix, id),
            expectedVersion,
            record.version,
            text,
            record.userId === undefined ? "0" : "1",
            record.userId ?? "",
            px
          ))
        if (saved !== 1) return yield* new SessionConflict({ store: STORE, expectedVersion })
      })

    const deleteByUser = (userId: string) =>
      Effect.gen(function*() {
        const key = userKey(prefix, userId)
        const ids = yield* run("deleteByUser", () => client.zrange(key, 0, -1))
        // on a cluster the sessions live in other slots than the index: one command per session
        const removed = yield* Effect.forEach(
          ids,
          (id) => run("deleteByUser", () => scripts.effectSessionDeleteIfUser(sessionKey(prefix, id), userId)),
          { concurrency: DELETE_CONCURRENCY }
        )
        // remove only what was read: a session bound meanwhile keeps its entry
        for (let i = 0; i < ids.length; i += ZREM_CHUNK) {
          const chunk = ids.slice(i, i + ZREM_CHUNK)
          yield* run("deleteByUser", () => client.zrem(key, ...chunk))
        }
        return removed.reduce((a, b) => a + b, 0)
      })

    const store = {
      name: STORE,
      load,
      save,
      delete: (id: string) => Effect.asVoid(run("delete", () => client.del(sessionKey(prefix, id)))),
      deleteByUser,
      // Redis expires every key itself at expiresAt + retainExpired: nothing is left to purge
      purge: Effect.succeed(0)
    } satisfies SessionStoreService
    // a client the store made has the timeout as its command timeout; an app's client gets a timer
    return options.client === undefined ? store : withTimeout(store, options.timeout ?? defaultTimeout)
  })

/** @internal */
export const layerStore = (options: RedisStoreOptions): Layer.Layer<SessionStore, SessionStoreError> =>
  Layer.scoped(SessionStore, make(options))

/** @internal */
export const layerStoreConfig = (
  options: Config.Config.Wrap<RedisStoreConfig>
): Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError> =>
  Layer.scoped(
    SessionStore,
    Effect.flatMap(Config.unwrap(options), (config) =>
      make({
        ...config,
        ...(config.nodes === undefined ? {} : { nodes: config.nodes.map(parseNode) })
      }))
  )

const parseNode = (node: string): ClusterNode => {
  const at = node.lastIndexOf(":")
  if (at <= 0) return node
  const port = Number(node.slice(at + 1))
  return Number.isInteger(port) ? { host: node.slice(0, at), port } : node
}

/** @internal */
export type { ClusterNode, ClusterOptions, RedisOptions }
