import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ClusterNode, ClusterOptions, RedisOptions } from "ioredis"
import { Cluster, Redis } from "ioredis"
import { createHash } from "node:crypto"
import { SessionConflict, type SessionOptionError, SessionStoreError } from "../SessionError.js"
import type { Listing, SessionRecord, SessionStore, SessionStoreService } from "../SessionStore.js"
import type { RedisStoreConfig, RedisStoreOptions } from "../SessionStore/Redis.js"
import { decodeRecord, encodeRecord } from "./record.js"
import { defaultTimeout, optionsFromConfig, retainOption, storeError, timeoutOption } from "./storeCommon.js"
import { summary } from "./storeList.js"
import { sessionStoreTag } from "./storeTag.js"
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

interface Script {
  readonly lua: string
  readonly sha: string
}

const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") })

// KEYS[1] session; ARGV: expected version, new version, record, has user ("1"/"0"), user id, px
const SAVE = script(`
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
`)

// KEYS[1] user index; ARGV: session id, keep-until (ms), now (ms)
const INDEX = script(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] == nil then return 0 end
local px = tonumber(last[2]) - tonumber(ARGV[3])
if px < 1 then px = 1 end
redis.call('PEXPIRE', KEYS[1], px)
return 1
`)

// KEYS[1] session; ARGV[1] user id
const DELETE_IF_USER = script(`
if redis.call('HGET', KEYS[1], 'u') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// KEYS[1] session; ARGV[1] expected version. A compare-and-set delete: an absent key or another
// version is 0 (a conflict), and nothing changes
const DELETE_IF_VERSION = script(`
local current = redis.call('HGET', KEYS[1], 'v')
if current == false or tonumber(current) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

/**
 * Corks the connection (every ready node's, on a cluster) until the turn's `setImmediate`, which
 * uncorks it: the commands written meanwhile leave together, in one `writev`. Once per turn.
 */
const makeCork = (client: Redis | Cluster): () => void => {
  if (client instanceof Redis) {
    let corked: Redis["stream"] | undefined
    const uncork = () => {
      const stream = corked!
      corked = undefined
      stream.uncork()
    }
    return () => {
      if (corked !== undefined || client.status !== "ready") return
      corked = client.stream
      corked.cork()
      setImmediate(uncork)
    }
  }
  let corked: Array<Redis["stream"]> | undefined
  const uncork = () => {
    const streams = corked!
    corked = undefined
    for (const stream of streams) stream.uncork()
  }
  return () => {
    if (corked !== undefined) return
    corked = []
    for (const node of client.nodes("all")) {
      if (node.status === "ready") {
        node.stream.cork()
        corked.push(node.stream)
      }
    }
    setImmediate(uncork)
  }
}

/** What the store tells its write coalescing about its commands. @internal */
export interface Coalescer {
  /** A command is about to be written. */
  readonly sending: () => void
  /** A command's reply (or its error) came back. */
  readonly answered: () => void
}

/**
 * Coalesces the commands of one event-loop turn into one write. A command is held back (the
 * connection corked until the end of the turn, see {@link makeCork}) when others will likely be
 * written in the same turn: some are in flight, or several replies came back in this turn (the
 * requests they resume send their next commands: the saves after the loads). Otherwise it is alone
 * on the wire and leaves at once: waiting for the turn would only add latency, e.g. to the requests
 * of one session, which run one at a time. Against a cork on "in flight" alone, the replies rule
 * takes the counter benchmark with 100 sessions from about 0.52 to 0.42 Redis writes a request (of
 * two commands; holding back every command until the end of its turn: about 0.35).
 *
 * ioredis's `enableAutoPipelining` batches at the same moment, but through a Pipeline object per
 * batch and an extra promise, callback and `process.nextTick` per command: in the counter benchmark
 * (100 sessions, 10 connections) that cost more CPU than the writes it saved.
 *
 * @internal
 */
export const makeCoalescer = (cork: () => void): Coalescer => {
  let inFlight = 0
  // replies taken in this turn
  let answered = 0
  const endTurn = () => {
    answered = 0
  }
  return {
    sending: () => {
      if (inFlight > 0 || answered > 1) cork()
      inFlight++
    },
    answered: () => {
      inFlight--
      if (answered++ === 0) setImmediate(endTurn)
    }
  }
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
  // the store coalesces the writes of concurrent requests itself (makeCork)
  enableAutoPipelining: false
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
): Effect.Effect<SessionStoreService, SessionStoreError | SessionOptionError, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = options.prefix ?? defaultPrefix
    const retain = yield* retainOption(options.retainExpired)
    const timeout = yield* timeoutOption(options.timeout)
    const client = yield* makeClient({ ...options, timeout })
    // a client of the app's is used as it is; the store's own clients get their writes coalesced
    const coalescer = makeCoalescer(options.client === undefined ? makeCork(client) : () => {})

    // One command as an Effect: `reply` applied to its reply (in the promise's callback, one Effect
    // less per call), or a SessionStoreError. A script is sent as EVALSHA and, when the server does
    // not have it (NOSCRIPT: first use, a restarted or flushed server), again as EVAL, which loads it;
    // NOSCRIPT means that the script did not run, so running it again is safe.
    const command = <A, B, E = never>(
      operation: SessionStoreError["operation"],
      send: () => Promise<A>,
      reply: (a: A) => Effect.Effect<B, E>,
      retry?: () => Promise<A>
    ): Effect.Effect<B, E | SessionStoreError> =>
      Effect.async<B, E | SessionStoreError>((resume) => {
        const fail = (cause: unknown) => resume(Effect.fail(new SessionStoreError({ store: STORE, operation, cause })))
        const succeed = (a: A) => {
          let next: Effect.Effect<B, E>
          try {
            next = reply(a)
          } catch (defect) {
            next = Effect.die(defect)
          }
          resume(next)
        }
        const answered = (a: A) => {
          coalescer.answered()
          succeed(a)
        }
        const failed = (cause: unknown) => {
          coalescer.answered()
          fail(cause)
        }
        const dispatch = (f: () => Promise<A>, onError: (error: unknown) => void) => {
          coalescer.sending()
          try {
            f().then(answered, onError)
          } catch (cause) {
            failed(cause)
          }
        }
        dispatch(
          send,
          retry === undefined ? failed : (error) => {
            if (!isNoScript(error)) return failed(error)
            coalescer.answered()
            dispatch(retry, failed)
          }
        )
      })

    const run = <B, E = never>(
      operation: SessionStoreError["operation"],
      s: Script,
      key: string,
      args: ReadonlyArray<string | number>,
      reply: (result: number) => Effect.Effect<B, E>
    ) =>
      command(
        operation,
        () => client.evalsha(s.sha, 1, key, ...args) as Promise<number>,
        reply,
        () => client.eval(s.lua, 1, key, ...args) as Promise<number>
      )

    const decoded = (text: string | null): Effect.Effect<Option.Option<SessionRecord>> =>
      Effect.succeed(text === null ? Option.none() : decodeRecord(text))

    const load = (id: string) => command("load", () => client.hget(sessionKey(prefix, id), "r"), decoded)

    const save = (id: string, record: SessionRecord, expectedVersion: number) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        let text: string
        try {
          text = encodeRecord(record)
        } catch (cause) {
          return Effect.fail(new SessionStoreError({ store: STORE, operation: "save", cause }))
        }
        // Redis removes the key itself once the retention after expiry is over: a relative TTL computed
        // from the app's Clock, so that the deadline is the same as the other stores'
        const keepUntil = record.expiresAt + retain
        const px = Math.max(1, keepUntil - now)
        const userId = record.userId
        const saved = run(
          "save",
          SAVE,
          sessionKey(prefix, id),
          [expectedVersion, record.version, text, userId === undefined ? "0" : "1", userId ?? "", px],
          (result) => result === 1 ? Effect.void : Effect.fail(new SessionConflict({ store: STORE, expectedVersion }))
        )
        // the index first: a crash between the two leaves an index entry without its session (harmless:
        // deleteByUser checks the session's user), never a bound session missing from the index
        return userId === undefined
          ? saved
          : Effect.zipRight(run("save", INDEX, userKey(prefix, userId), [id, keepUntil, now], Effect.succeed), saved)
      })

    const deleteByUser = (userId: string) =>
      Effect.gen(function*() {
        const key = userKey(prefix, userId)
        const ids = yield* command("deleteByUser", () => client.zrange(key, 0, -1), Effect.succeed)
        // on a cluster the sessions live in other slots than the index: one command per session
        const removed = yield* Effect.forEach(
          ids,
          (id) => run("deleteByUser", DELETE_IF_USER, sessionKey(prefix, id), [userId], Effect.succeed),
          { concurrency: DELETE_CONCURRENCY }
        )
        // remove only what was read: a session bound meanwhile keeps its entry
        for (let i = 0; i < ids.length; i += ZREM_CHUNK) {
          const chunk = ids.slice(i, i + ZREM_CHUNK)
          yield* command("deleteByUser", () => client.zrem(key, ...chunk), Effect.succeed)
        }
        return removed.reduce((a, b) => a + b, 0)
      })

    const store = {
      name: STORE,
      load,
      save,
      delete: (id: string, expectedVersion?: number) =>
        expectedVersion === undefined
          ? command("delete", () => client.del(sessionKey(prefix, id)), () => Effect.void)
          // one key, so one slot on a cluster: the script runs where the session lives
          : run(
            "delete",
            DELETE_IF_VERSION,
            sessionKey(prefix, id),
            [expectedVersion],
            (result) => result === 1 ? Effect.void : Effect.fail(new SessionConflict({ store: STORE, expectedVersion }))
          ),
      deleteByUser,
      // Redis expires every key itself at expiresAt + retainExpired: nothing is left to purge
      purge: Effect.succeed(0),
      list: makeListing(client, prefix, command)
    } satisfies SessionStoreService
    // a client the store made has the timeout as its command timeout; an app's client gets a timer
    return options.client === undefined ? store : withTimeout(store, timeout)
  })

type Command = <A, B, E = never>(
  operation: SessionStoreError["operation"],
  send: () => Promise<A>,
  reply: (a: A) => Effect.Effect<B, E>
) => Effect.Effect<B, E | SessionStoreError>

const SCAN_COUNT = 500
const LIST_CONCURRENCY = 16

/** A glob pattern that matches `text` literally (for SCAN's MATCH). @internal */
export const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&")

/**
 * The listing: `SCAN` with `MATCH <prefix>s:*` on the server, or on every master of a cluster (a
 * SCAN walks one node's keys), then one `HGET` per session for its summary.
 */
const makeListing = (client: Redis | Cluster, prefix: string, command: Command): Listing => {
  const keys = (operation: SessionStoreError["operation"], kind: "s" | "u"): Stream.Stream<string, SessionStoreError> =>
    Stream.suspend(() =>
      Stream.fromIterable(client instanceof Cluster ? client.nodes("master") : [client]).pipe(
        Stream.flatMap((node) =>
          Stream.paginateChunkEffect("0", (cursor) =>
            command(
              operation,
              () => node.scan(cursor, "MATCH", `${globEscape(prefix)}${kind}:*`, "COUNT", SCAN_COUNT),
              ([next, found]) =>
                Effect.succeed(
                  [Chunk.unsafeFromArray(found), next === "0" ? Option.none() : Option.some(next)] as const
                )
            ))
        )
      )
    )
  // <prefix>s:{<id>}
  const idOf = (key: string) => key.slice(prefix.length + 3, -1)
  return {
    entries: keys("list", "s").pipe(
      Stream.mapEffect((key) =>
        command("list", () => client.hget(key, "r"), (text) =>
          Effect.succeed(
            Option.map(text === null ? Option.none() : decodeRecord(text), (record) => summary(idOf(key), record))
          )), { concurrency: LIST_CONCURRENCY }),
      Stream.filterMap((row) => row)
    ),
    count: Stream.runCount(keys("count", "s")),
    // the sessions, then the users' indexes; one key per DEL (on a cluster the keys are in many slots)
    clear: Stream.concat(keys("clear", "s"), keys("clear", "u")).pipe(
      Stream.mapEffect((key) => command("clear", () => client.del(key), () => Effect.void), {
        concurrency: LIST_CONCURRENCY
      }),
      Stream.runDrain
    )
  }
}

/** @internal */
export const layerStore = (
  options: RedisStoreOptions
): Layer.Layer<SessionStore, SessionStoreError | SessionOptionError> => Layer.scoped(sessionStoreTag, make(options))

/** @internal */
export const layerStoreConfig = (
  options: Config.Config.Wrap<RedisStoreConfig>
): Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError> =>
  Layer.scoped(
    sessionStoreTag,
    optionsFromConfig(Effect.flatMap(Config.unwrap(options), (config) =>
      make({
        ...config,
        ...(config.nodes === undefined ? {} : { nodes: config.nodes.map(parseNode) })
      })))
  )

const parseNode = (node: string): ClusterNode => {
  const at = node.lastIndexOf(":")
  if (at <= 0) return node
  const port = Number(node.slice(at + 1))
  return Number.isInteger(port) ? { host: node.slice(0, at), port } : node
}

/** @internal */
export type { ClusterNode, ClusterOptions, RedisOptions }
