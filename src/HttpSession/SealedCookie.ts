/**
 * The seal of the sealed-cookie transport (`HttpSession.layerSealed`): the session data lives in the
 * cookie itself, encrypted and authenticated, and the server keeps nothing. `seal` and `unseal` are
 * public for other uses (a sealed value in a header, a test that makes a cookie).
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
 * ## How the HTTP transport uses it
 *
 * The sealed value does not fit the store contract's load/save-by-id (its "id" would change on every
 * save), so it is not a `SessionStore` but a transport (`HttpSession.layerSealed`): each request
 * brings a store of one record, what its cookie carries; a commit seals the new record into the
 * cookie, a destroyed session clears it, a request that never wrote sets no cookie.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Either from "effect/Either"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as internal from "../internal/seal.js"
import * as SessionError from "../SessionError.js"
import type { SessionStoreError } from "../SessionError.js"
import type { SessionRecord } from "../SessionStore.js"

/**
 * Options of {@link seal}.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
 *
 * const secrets = [Redacted.make("a secret of at least thirty-two characters!")]
 * const options: SealedCookie.SealOptions = { context: "prefs", maxLength: 3800 } // bound to the cookie named "prefs"
 * const record = { data: { theme: "dark" }, version: 1, createdAt: 0, expiresAt: 60_000 }
 * const sealed = SealedCookie.seal(record, secrets, options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SealOptions {
  /** The longest sealed value allowed, in characters (ASCII, so bytes). Default: 4096. */
  readonly maxLength?: number | undefined
  /** Bound into the seal as associated data, e.g. the cookie name: a value opens only with the same context. */
  readonly context?: string | undefined
}

/**
 * Options of {@link unseal}.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
 *
 * const secrets = [Redacted.make("a secret of at least thirty-two characters!")]
 * const options: SealedCookie.UnsealOptions = { context: "prefs", retainExpired: "10 minutes" }
 * const open = (value: string) => SealedCookie.unseal(value, secrets, Date.now(), options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface UnsealOptions {
  /** How long after its expiry a record is still given back (to report what expired). Default: 1 hour. */
  readonly retainExpired?: Duration.DurationInput | undefined
  /**
   * The longest value opened, in characters: the `maxLength` given to {@link seal}, so that the
   * read limit and the write limit are one number. A longer value is `Option.none()`, never parsed.
   * Default: 4096.
   */
  readonly maxLength?: number | undefined
  /** The context given to {@link seal}. */
  readonly context?: string | undefined
}

/**
 * A sealed value over its size limit: the `cause` of the `SessionStoreError` that {@link seal}
 * returns.
 *
 * @example
 * ```ts
 * import { Either, Redacted } from "effect"
 * import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
 *
 * const secrets = [Redacted.make("a secret of at least thirty-two characters!")]
 * const record = { data: { blob: "x".repeat(10_000) }, version: 1, createdAt: 0, expiresAt: 60_000 }
 *
 * const result = SealedCookie.seal(record, secrets)
 * if (Either.isLeft(result) && result.left.cause instanceof SealedCookie.SealedCookieTooLarge) {
 *   console.log(`${result.left.cause.length} > ${result.left.cause.maxLength}`) // keep less in this session
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const SealedCookieTooLarge: typeof SessionError.SealedCookieTooLarge = SessionError.SealedCookieTooLarge

/**
 * The instance type of {@link SealedCookieTooLarge}.
 *
 * @example
 * ```ts
 * import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
 *
 * const overBy = (error: SealedCookie.SealedCookieTooLarge): number => error.length - error.maxLength
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type SealedCookieTooLarge = SessionError.SealedCookieTooLarge

/**
 * Seals a record with the first of `secrets`. Fails (as a `SessionStoreError`, operation `save`)
 * when there is no secret, a secret is shorter than 32 characters, or the sealed value is over
 * `maxLength` (the `cause` is then a {@link SealedCookieTooLarge}). An `Either` is an `Effect`:
 * `yield*` it in `Effect.gen`.
 *
 * @example
 * ```ts
 * import { Either, Option, Redacted } from "effect"
 * import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
 *
 * const secrets = [Redacted.make("a secret of at least thirty-two characters!")]
 * const record = { data: { theme: "dark" }, version: 1, createdAt: 0, expiresAt: 60_000 }
 * const sealed = Either.getOrThrow(SealedCookie.seal(record, secrets))
 * SealedCookie.unseal(sealed, secrets, 1_000) // Option.some(record)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const seal: (
  record: SessionRecord,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  options?: SealOptions
) => Either.Either<string, SessionStoreError> = internal.seal

/**
 * Opens a sealed value with any of `secrets` at the time `now` (epoch milliseconds). Anything that
 * does not open (tampered with, sealed with an unknown secret or another context, malformed) or
 * that expired more than `retainExpired` before `now` is `Option.none()`.
 *
 * @example
 * ```ts
 * import { Option, Redacted } from "effect"
 * import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
 *
 * const secrets = [Redacted.make("a secret of at least thirty-two characters!")]
 *
 * // a cookie value from a request: its data, or nothing when it was tampered with or expired
 * const themeOf = (cookieValue: string) =>
 *   SealedCookie.unseal(cookieValue, secrets, Date.now()).pipe(
 *     Option.flatMap((record) => Option.fromNullable(record.data.theme))
 *   )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const unseal: (
  text: string,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  now: number,
  options?: UnsealOptions
) => Option.Option<SessionRecord> = internal.unseal
