/**
 * A session store on Redis (through `ioredis` 5), for several app instances: a single server
 * (`url`) or a Redis Cluster (`nodes`), or a client the app already has (`client`).
 *
 * - Compare-and-set, data and expiry in one round trip: each operation is one Lua script on one key
 *   (EVALSHA, loaded on first use).
 * - Keys: `<prefix>s:{<id>}` for a session (a hash: the encoded record, its version, its user),
 *   `<prefix>u:{<userId>}` for a user's index (a sorted set of session ids). The hash tag (`{...}`)
 *   is the id, so sessions spread over a cluster's slots and every operation on a session touches
 *   one slot.
 * - Expiry is Redis's own: every save sets the key's TTL to `expiresAt + retainExpired - now`
 *   (milliseconds, `now` from the app's `Clock`), so an expired session stays readable for the
 *   retention (to tell the app what expired) and then disappears. `purge` has nothing to do and
 *   returns 0. The TTL itself runs on the Redis server's clock: a `TestClock` moves the deadlines the
 *   store computes, not Redis's.
 * - `deleteByUser`: the user's index lives in its own slot, so on a cluster it cannot be one atomic
 *   script with the sessions: the store reads the index, deletes each session whose stored user is
 *   still that user (one script per session, a few at a time), then removes those ids from the index.
 *   A session bound to the user by a save that runs at the same time as `deleteByUser` may survive
 *   it; call it after the logins you want to end have been saved. `delete` leaves the session's id in
 *   its user's index; such entries are skipped by `deleteByUser` and fall out with their deadline.
 * - Connection failures are `SessionStoreError`. The clients this store makes connect when the layer
 *   is built (a wrong address fails the layer), fail commands at once while disconnected
 *   (`enableOfflineQueue: false`, `maxRetriesPerRequest: 1`) instead of queueing them, and reconnect
 *   by themselves; they are closed (`QUIT`) with the layer's scope. A `client` given by the app is
 *   used as it is and never closed.
 * - Round trips: a load is one `HGET`, a save one `EVALSHA` (the script is sent in full only when the
 *   server does not have it; a session bound to a user adds one for the user's index), a
 *   compare-and-set delete one `EVALSHA`. On the clients this store makes, the commands of
 *   concurrent requests leave in one write per event-loop turn (while others are in flight, or after
 *   several replies came back in the turn); a command alone on the wire leaves at once.
 * - Listing (`SessionStore.list`): `SCAN MATCH <prefix>s:*` on the server, or on every master of a
 *   cluster, then one `HGET` per session; `clear` deletes the sessions and users' indexes of the
 *   prefix, key by key. A walk over the server's whole keyspace: for admin screens, not requests.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from "ioredis"
import * as internal from "../internal/storeRedis.js"
import type { SessionOptionError, SessionStoreError } from "../SessionError.js"
import type { SessionStore, SessionStoreService } from "../SessionStore.js"

/**
 * Options of the Redis store: exactly one of `url`, `nodes` and `client`.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as RedisStore from "effect-session/SessionStore/Redis"
 *
 * const options: RedisStore.RedisStoreOptions = {
 *   url: Redacted.make("rediss://user:password@cache.internal:6380/0"),
 *   prefix: "shop:",
 *   retainExpired: "5 minutes",
 *   timeout: "2 seconds"
 * }
 * const StoreLive = RedisStore.layerStore(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisStoreOptions {
  /** A single Redis server, e.g. `redis://user:password@host:6379/0`. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Options for the client made from `url` (over the store's defaults). */
  readonly redisOptions?: RedisOptions | undefined
  /** The seed nodes of a Redis Cluster. */
  readonly nodes?: ReadonlyArray<ClusterNode> | undefined
  /** Options for the cluster client made from `nodes` (over the store's defaults). */
  readonly clusterOptions?: ClusterOptions | undefined
  /**
   * A client the app made and owns: the store neither connects nor closes it. Give it
   * `enableOfflineQueue: false` (or a small `maxRetriesPerRequest`) so that an outage fails requests
   * instead of holding them.
   */
  readonly client?: Redis | Cluster | undefined
  /** Prefix of every key. Default: `effect-session:`. */
  readonly prefix?: string | undefined
  /**
   * How long an expired session is kept so that a returning client can be told what expired.
   * Default: 1 hour.
   */
  readonly retainExpired?: Duration.DurationInput | undefined
  /**
   * Every call of the store that has not answered within this time fails with a
   * `SessionStoreError`, so that a hanging backend never hangs a request. It is the client's own
   * `commandTimeout` (no timer per call on the Effect side); with an app's `client`, the store wraps
   * its calls with `SessionStore.withTimeout` instead. Default: 5 seconds.
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Options of {@link layerStoreConfig}: exactly one of `url` and `nodes` (`host:port` strings; from
 * the environment, a comma-separated list).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import * as RedisStore from "effect-session/SessionStore/Redis"
 *
 * // REDIS_NODES=10.0.0.1:7000,10.0.0.2:7000
 * const config: Config.Config.Wrap<RedisStore.RedisStoreConfig> = {
 *   nodes: Config.array(Config.string(), "REDIS_NODES"),
 *   prefix: Config.string("SESSION_PREFIX").pipe(Config.withDefault("effect-session:"))
 * }
 * const StoreLive = RedisStore.layerStoreConfig(config)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisStoreConfig {
  readonly url?: Redacted.Redacted<string> | undefined
  readonly nodes?: ReadonlyArray<string> | undefined
  readonly prefix?: string | undefined
  readonly retainExpired?: Duration.DurationInput | undefined
}

/**
 * Makes a Redis store in the current scope. With `url` or `nodes` it makes the client, connects it
 * (failing with `SessionStoreError`, operation `connect`, when that fails) and closes it with the
 * scope; with `client` it uses the app's client. An invalid `retainExpired` or `timeout` fails with
 * `SessionOptionError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import * as RedisStore from "effect-session/SessionStore/Redis"
 *
 * // the app's own client: the store neither connects nor closes it
 * const client = new Redis({ host: "127.0.0.1", enableOfflineQueue: false })
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* RedisStore.make({ client })
 *   return yield* store.load("some-session-id")
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: RedisStoreOptions
) => Effect.Effect<SessionStoreService, SessionStoreError | SessionOptionError, Scope.Scope> = internal.make

/**
 * The Redis store as a layer.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as RedisStore from "effect-session/SessionStore/Redis"
 *
 * const StoreLive = RedisStore.layerStore({ url: Redacted.make("redis://127.0.0.1:6379") })
 * const ClusterStoreLive = RedisStore.layerStore({ nodes: [{ host: "10.0.0.1", port: 7000 }] })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore: (
  options: RedisStoreOptions
) => Layer.Layer<SessionStore, SessionStoreError | SessionOptionError> = internal.layerStore

/**
 * The Redis store as a layer, its options read from `Config`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import * as RedisStore from "effect-session/SessionStore/Redis"
 *
 * const StoreLive = RedisStore.layerStoreConfig({ url: Config.redacted("REDIS_URL") })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStoreConfig: (
  options: Config.Config.Wrap<RedisStoreConfig>
) => Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError> = internal.layerStoreConfig

/**
 * The options that the store gives every client it makes, before the app's `redisOptions` (for a
 * cluster, `enableOfflineQueue` and `lazyConnect` go to the cluster, the rest to its nodes).
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import * as RedisStore from "effect-session/SessionStore/Redis"
 *
 * // a client of the app's own that fails fast like the store's clients
 * const client = new Redis("redis://127.0.0.1:6379", { ...RedisStore.clientDefaults, connectTimeout: 2_000 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientDefaults: {
  readonly lazyConnect: true
  readonly enableOfflineQueue: false
  readonly maxRetriesPerRequest: 1
  readonly connectTimeout: 5000
} = internal.clientDefaults
