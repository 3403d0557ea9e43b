/**
 * **Deprecated module**: the sealed cookie is a transport, not a store. Its public helpers live in
 * `effect-session/HttpSession/SealedCookie` (`seal`, `unseal`, `SealOptions`, `UnsealOptions`,
 * `SealedCookieTooLarge`: the same functions and class); choose the sealed cookie with
 * `HttpSession.layerSealed`. The `SealedCookie` service (`make`, `layer`, `layerConfig`), which no
 * part of the library uses, goes in the next minor version.
 *
 * The sealed cookie: the session data lives in the cookie itself, encrypted and authenticated, and
 * the server keeps nothing.
 *
 * ## The seal
 *
 * `v1.` + base64url(salt ‖ iv ‖ ciphertext ‖ tag): AES-256-GCM (node:crypto) over the record as
 * `SessionStore.encodeRecord` writes it (data, version, creation, **expiry**, user), with a key
 * derived for every seal by HKDF-SHA-256 from the first secret and a fresh 16-byte salt, a fresh
 * 12-byte iv, and the format tag plus an optional `context` (e.g. the cookie name) as associated
 * data. Any change to the value, a value sealed for another `context`, or a value no secret opens is
 * `Option.none()`, like an unknown id in a store.
 *
 * - Rotation: `secrets` is a list; the first seals, every one opens. Add a new secret in front, keep
 *   the old ones until the longest session lifetime has passed, then drop them.
 * - Expiry is inside the seal: `unseal` gives a record whose `expiresAt` has passed for
 *   `retainExpired` more (so that the app can be told what expired, as with the stores), and none
 *   after that, whatever the cookie's own `Max-Age` says.
 * - Size: browsers drop a cookie whose name and value together are over 4096 bytes, without a word.
 *   A sealed value longer than `maxLength` (default 4096) is a `SessionStoreError` (operation
 *   `save`) whose `cause` is a {@link SealedCookieTooLarge}: the commit fails, loudly. The same
 *   `maxLength` bounds what `unseal` opens: one number for both ways. For a cookie, give
 *   `maxLength` as 4096 minus the cookie name's length (`HttpSession.layerSealed` does this
 *   itself: its `maxLength` counts name and value). The seal adds 63 characters plus a third of the
 *   record's JSON.
 *
 * ## The trade-off
 *
 * No server state: nothing to run, nothing to purge, any number of instances. But the server
 * cannot revoke a session: a copy of a cookie stays valid until its expiry, logging out only drops
 * the browser's copy, and `deleteByUser` ("log out everywhere") **cannot be done** (rotating every
 * secret logs everyone out). There is no compare-and-set either: two concurrent requests each set
 * their own cookie and the last response wins. And the data travels with every request. Use it for
 * small, low-stakes sessions (preferences, a cart), not for authentication that must be revocable.
 *
 * ## How the HTTP transport uses it (design note)
 *
 * The sealed value does not fit the store contract's load/save-by-id (its "id" would change on every
 * save), so it is not a `SessionStore`. The HTTP layer uses the {@link SealedCookie} service in
 * place of the id cookie and the store: on a request it `unseal`s the cookie (none: a new, empty
 * session; an expired record: a `SessionTimeout`, as from a store); the manager runs the units of
 * work as usual, its "store" being the request itself, with the version taken from the record so the
 * manager's bookkeeping stays the same; at commit it `seal`s the new record and sets the cookie
 * (`HttpOnly`, `SameSite=Lax`, `Path=/`, `Max-Age` up to `expiresAt + retainExpired`), a
 * `SessionStoreError` from `seal` failing the commit like a store failure; a destroyed session
 * clears the cookie. A request that never wrote sets no cookie.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as internal from "../internal/storeCookie.js"
import type { SessionStoreError } from "../SessionError.js"
import type { SessionRecord } from "../SessionStore.js"

/**
 * The seal helpers, moved to `effect-session/HttpSession/SealedCookie` (the same functions and class).
 *
 * @since 0.1.0
 * @category re-exports
 */
export {
  /** @deprecated import it from `effect-session/HttpSession/SealedCookie` */
  seal,
  /** @deprecated import it from `effect-session/HttpSession/SealedCookie` */
  SealedCookieTooLarge,
  /** @deprecated import it from `effect-session/HttpSession/SealedCookie` */
  unseal
} from "../HttpSession/SealedCookie.js"

/**
 * The seal helpers' options, moved to `effect-session/HttpSession/SealedCookie`.
 *
 * @since 0.1.0
 * @category re-exports
 */
export type { SealOptions, UnsealOptions } from "../HttpSession/SealedCookie.js"

/**
 * Options of the {@link SealedCookie} service.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as Cookie from "effect-session/SessionStore/Cookie"
 *
 * const options: Cookie.SealedCookieOptions = {
 *   // rotation: the new secret seals, the old one still opens the cookies it sealed
 *   secrets: [
 *     Redacted.make("the new secret, at least 32 characters"),
 *     Redacted.make("the old secret, at least 32 characters")
 *   ],
 *   context: "session"
 * }
 * const SealedLive = Cookie.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SealedCookieOptions {
  /** The first seals, every one opens; each at least 32 characters of high-entropy text. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  /** The longest sealed value, for sealing and for opening alike (one number). Default: 4096. */
  readonly maxLength?: number | undefined
  readonly retainExpired?: Duration.DurationInput | undefined
  readonly context?: string | undefined
}

/**
 * The sealed cookie, with its secrets and options bound.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cookie from "effect-session/SessionStore/Cookie"
 *
 * // re-seal a cookie value with the current first secret (after a rotation)
 * const reseal = (sealed: Cookie.SealedCookieService, value: string) =>
 *   Effect.flatMap(
 *     sealed.unseal(value),
 *     (record) => record._tag === "Some" ? Effect.asSome(sealed.seal(record.value)) : Effect.succeedNone
 *   )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SealedCookieService {
  readonly seal: (record: SessionRecord) => Either.Either<string, SessionStoreError>
  /** Opens a value, with the time from `Clock`. */
  readonly unseal: (text: string) => Effect.Effect<Option.Option<SessionRecord>>
  /** Opens a value at the time `now` (epoch milliseconds). */
  readonly unsealAt: (text: string, now: number) => Option.Option<SessionRecord>
}

/**
 * The sealed cookie service.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import * as Cookie from "effect-session/SessionStore/Cookie"
 *
 * const readPreferences = (cookieValue: string) =>
 *   Effect.gen(function*() {
 *     const sealed = yield* Cookie.SealedCookie
 *     const record = yield* sealed.unseal(cookieValue)
 *     return Option.map(record, (r) => r.data)
 *   })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class SealedCookie extends Context.Tag("effect-session/SessionStore/Cookie/SealedCookie")<
  SealedCookie,
  SealedCookieService
>() {}

/**
 * Makes the sealed cookie service; fails with `SessionStoreError` (operation `connect`) when there
 * is no secret or a secret is too short.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import * as Cookie from "effect-session/SessionStore/Cookie"
 *
 * const program = Effect.gen(function*() {
 *   const sealed = yield* Cookie.make({ secrets: [Redacted.make("a secret of at least thirty-two characters!")] })
 *   return yield* sealed.seal({ data: { theme: "dark" }, version: 1, createdAt: 0, expiresAt: 60_000 })
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: SealedCookieOptions) => Effect.Effect<SealedCookieService, SessionStoreError> =
  internal.make

/**
 * The sealed cookie service as a layer.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as Cookie from "effect-session/SessionStore/Cookie"
 *
 * const SealedLive = Cookie.layer({ secrets: [Redacted.make("a secret of at least thirty-two characters!")] })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: SealedCookieOptions): Layer.Layer<SealedCookie, SessionStoreError> =>
  Layer.effect(SealedCookie, internal.make(options))

/**
 * The sealed cookie service as a layer, its options read from `Config`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import * as Cookie from "effect-session/SessionStore/Cookie"
 *
 * const SealedLive = Cookie.layerConfig({ secrets: Config.array(Config.redacted(), "SESSION_SECRETS") })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<SealedCookieOptions>
): Layer.Layer<SealedCookie, SessionStoreError | ConfigError.ConfigError> =>
  Layer.effect(SealedCookie, Effect.flatMap(Config.unwrap(options), internal.make))
