/**
 * The options of a session (timeouts, lock, conflict policy), checked and resolved once. An
 * invalid option is a `SessionOptionError` naming it, never a `RangeError` and never a clamp.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Hash from "effect/Hash"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { SessionOptionError } from "../SessionError.js"
import type { ConflictPolicy, SessionOptions } from "../SessionManager.js"
import type { Json } from "./json.js"

/** @internal */
export const defaults = {
  idleTimeout: Duration.minutes(30),
  absoluteTimeout: Duration.hours(8),
  touchInterval: Duration.minutes(1),
  lockTimeout: Duration.seconds(5),
  onConflict: "merge",
  retryAttempts: 3,
  maxBytes: 262_144
} as const

/** @internal */
export interface ResolvedOptions {
  readonly idleMillis: number
  readonly absoluteMillis: number
  readonly touchMillis: number
  readonly lockTimeout: Duration.Duration
  readonly onConflict: ConflictPolicy
  readonly retryAttempts: number
  readonly maxBytes: number
}

const policies: ReadonlyArray<ConflictPolicy> = ["fail", "retry", "merge", "merge-then-retry"]

const duration = (
  option: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, SessionOptionError> => {
  if (input === undefined) return Either.right(fallback)
  const decoded = Duration.decodeUnknown(input)
  return Option.isSome(decoded)
    ? Either.right(decoded.value)
    : Either.left(new SessionOptionError({ option, detail: "must be a Duration (for example \"30 minutes\")" }))
}

/** Checks and resolves the options, or names the first one that is invalid. @internal */
export const resolveOptions = (options: SessionOptions = {}): Either.Either<ResolvedOptions, SessionOptionError> =>
  Either.gen(function*() {
    const idle = yield* duration("idleTimeout", options.idleTimeout, defaults.idleTimeout)
    const absolute = yield* duration("absoluteTimeout", options.absoluteTimeout, defaults.absoluteTimeout)
    const lockTimeout = yield* duration("lockTimeout", options.lockTimeout, defaults.lockTimeout)
    const idleMillis = Duration.toMillis(idle)
    const absoluteMillis = Duration.toMillis(absolute)
    if (!(idleMillis > 0) || !Number.isFinite(idleMillis)) {
      return yield* Either.left(
        new SessionOptionError({ option: "idleTimeout", detail: "must be positive and finite" })
      )
    }
    if (!(absoluteMillis > 0) || !Number.isFinite(absoluteMillis)) {
      return yield* Either.left(
        new SessionOptionError({ option: "absoluteTimeout", detail: "must be positive and finite" })
      )
    }
    // by default at most half the idle timeout, so that a short idle timeout still slides on reads
    const touch = yield* duration("touchInterval", options.touchInterval, Duration.millis(idleMillis / 2))
    const touchMillis = options.touchInterval === undefined
      ? Math.min(Duration.toMillis(defaults.touchInterval), Duration.toMillis(touch))
      : Duration.toMillis(touch)
    if (!(touchMillis >= 0)) {
      return yield* Either.left(new SessionOptionError({ option: "touchInterval", detail: "must not be negative" }))
    }
    if (!Duration.greaterThan(lockTimeout, Duration.zero)) {
      return yield* Either.left(new SessionOptionError({ option: "lockTimeout", detail: "must be positive" }))
    }
    const onConflict = options.onConflict ?? defaults.onConflict
    if (!policies.includes(onConflict)) {
      return yield* Either.left(
        new SessionOptionError({ option: "onConflict", detail: `must be one of ${policies.join(", ")}` })
      )
    }
    const retryAttempts = options.retryAttempts ?? defaults.retryAttempts
    if (!Number.isInteger(retryAttempts) || retryAttempts < 1 || retryAttempts > 100) {
      return yield* Either.left(
        new SessionOptionError({ option: "retryAttempts", detail: "must be a whole number from 1 to 100" })
      )
    }
    const maxBytes = options.maxBytes ?? defaults.maxBytes
    if (!(maxBytes === Infinity || (Number.isInteger(maxBytes) && maxBytes >= 16))) {
      return yield* Either.left(
        new SessionOptionError({ option: "maxBytes", detail: "must be a whole number of at least 16, or Infinity" })
      )
    }
    return { idleMillis, absoluteMillis, touchMillis, lockTimeout, onConflict, retryAttempts, maxBytes }
  })

/**
 * The data key under which a session keeps a lifetime of its own ("remember me", see
 * `Session.rememberFor`): `{ "idle": milliseconds }`. Like express-session's `cookie`, it lives with
 * the data, so every store keeps it; `Session.keys` and `Session.entries` do not show it.
 *
 * @internal
 */
export const LIFETIME_KEY = "effect-session/lifetime"

// its hash, computed once: a string's hash is not cached, and the key is looked up on every commit
const LIFETIME_HASH = Hash.string(LIFETIME_KEY)

/** Whether `data` holds the session's own lifetime (see `LIFETIME_KEY`). @internal */
export const hasLifetime = (data: HashMap.HashMap<string, Json>): boolean =>
  HashMap.size(data) > 0 && HashMap.hasHash(data, LIFETIME_KEY, LIFETIME_HASH)

/** The idle and absolute timeouts of a session whose data is `data`: its own, or the options'. @internal */
export const timeoutsOf = (
  options: ResolvedOptions,
  data: HashMap.HashMap<string, Json>
): { readonly idleMillis: number; readonly absoluteMillis: number } => {
  if (HashMap.size(data) === 0) return options
  const own = HashMap.getHash(data, LIFETIME_KEY, LIFETIME_HASH)
  if (Option.isNone(own)) return options
  const value = own.value
  const idle = typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as { readonly [key: string]: Json })["idle"]
    : undefined
  if (typeof idle !== "number" || !(idle > 0) || !Number.isFinite(idle)) return options
  // a remembered session lives at least as long as it is remembered for
  return { idleMillis: idle, absoluteMillis: Math.max(options.absoluteMillis, idle) }
}

/**
 * The deadline of a session created at `createdAt`, holding `data`, used at `now`: the earlier of
 * its idle and absolute deadlines. @internal
 */
export const expiryFor = (
  options: ResolvedOptions,
  now: number,
  createdAt: number,
  data: HashMap.HashMap<string, Json> = emptyMap
): number => {
  const timeouts = timeoutsOf(options, data)
  return Math.min(now + timeouts.idleMillis, createdAt + timeouts.absoluteMillis)
}

const emptyMap: HashMap.HashMap<string, Json> = HashMap.empty()
