import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import type { SealOptions, UnsealOptions } from "../HttpSession/SealedCookie.js"
import { SealedCookieTooLarge, SessionStoreError } from "../SessionError.js"
import type { SessionRecord } from "../SessionStore.js"
import { decodeRecord, encodeRecord } from "./record.js"
import { retainMillis } from "./storeCommon.js"

const STORE = "cookie"
const PREFIX = "v1."
const INFO = Buffer.from("effect-session/sealed-cookie/v1", "utf8")
const SALT_BYTES = 16
const IV_BYTES = 12
const TAG_BYTES = 16

/** @internal */
export const MIN_SECRET_LENGTH = 32

/** @internal */
export const DEFAULT_MAX_LENGTH = 4096

const deriveKey = (secret: Redacted.Redacted<string>, salt: Uint8Array): Buffer =>
  Buffer.from(hkdfSync("sha256", Buffer.from(Redacted.value(secret), "utf8"), salt, INFO, 32))

const aad = (context: string | undefined): Buffer => Buffer.from(`${PREFIX}${context ?? ""}`, "utf8")

const secretProblem = (secrets: ReadonlyArray<Redacted.Redacted<string>>): string | undefined => {
  if (secrets.length === 0) return "at least one secret is needed"
  for (const secret of secrets) {
    if (Redacted.value(secret).length < MIN_SECRET_LENGTH) {
      return `every secret must be at least ${MIN_SECRET_LENGTH} characters long`
    }
  }
  return undefined
}

/** @internal */
export const seal = (
  record: SessionRecord,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  options: SealOptions = {}
): Either.Either<string, SessionStoreError> => {
  const problem = secretProblem(secrets)
  if (problem !== undefined) {
    return Either.left(new SessionStoreError({ store: STORE, operation: "save", detail: problem }))
  }
  let plaintext: Buffer
  try {
    plaintext = Buffer.from(encodeRecord(record), "utf8")
  } catch (cause) {
    return Either.left(new SessionStoreError({ store: STORE, operation: "save", cause }))
  }
  // a fresh salt per seal gives a fresh key per seal: no nonce-reuse bound on the number of seals
  const salt = randomBytes(SALT_BYTES)
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv("aes-256-gcm", deriveKey(secrets[0]!, salt), iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad(options.context))
  const body = Buffer.concat([salt, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  const sealed = PREFIX + body.toString("base64url")
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH
  if (sealed.length > maxLength) {
    const cause = new SealedCookieTooLarge({ length: sealed.length, maxLength })
    return Either.left(new SessionStoreError({ store: STORE, operation: "save", cause, detail: cause.message }))
  }
  return Either.right(sealed)
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Opens a sealed value: the record, and whether the first secret sealed it (otherwise the value is
 * sealed again with the first one when it is used: rotation). @internal
 */
export const open = (
  text: string,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  now: number,
  options: UnsealOptions = {}
): { readonly record: SessionRecord; readonly current: boolean } | undefined => {
  // one limit for both ways: a value longer than a seal may be was not sealed here (never parsed)
  if (text.length > (options.maxLength ?? DEFAULT_MAX_LENGTH) || !text.startsWith(PREFIX)) return undefined
  const encoded = text.slice(PREFIX.length)
  if (!BASE64URL.test(encoded)) return undefined
  const body = Buffer.from(encoded, "base64url")
  if (body.length < SALT_BYTES + IV_BYTES + TAG_BYTES) return undefined
  const salt = body.subarray(0, SALT_BYTES)
  const iv = body.subarray(SALT_BYTES, SALT_BYTES + IV_BYTES)
  const ciphertext = body.subarray(SALT_BYTES + IV_BYTES, body.length - TAG_BYTES)
  const tag = body.subarray(body.length - TAG_BYTES)
  const retain = retainMillis(options.retainExpired)
  for (let i = 0; i < secrets.length; i++) {
    const secret = secrets[i]!
    if (Redacted.value(secret).length < MIN_SECRET_LENGTH) continue
    let plaintext: string
    try {
      const decipher = createDecipheriv("aes-256-gcm", deriveKey(secret, salt), iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(aad(options.context))
      decipher.setAuthTag(tag)
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8")
    } catch {
      continue // not this secret (or tampered with)
    }
    const record = Option.filter(decodeRecord(plaintext), (record) => record.expiresAt + retain > now)
    return Option.isSome(record) ? { record: record.value, current: i === 0 } : undefined
  }
  return undefined
}

/** @internal */
export const unseal = (
  text: string,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  now: number,
  options: UnsealOptions = {}
): Option.Option<SessionRecord> => {
  const opened = open(text, secrets, now, options)
  return opened === undefined ? Option.none() : Option.some(opened.record)
}

/**
 * The seal of one sealed-cookie layer (`HttpSession.layerSealed`): its secrets and limits bound
 * once. `open` gives whether the first secret sealed the value (otherwise the transport seals it
 * again with the first one when it is used: rotation).
 *
 * @internal
 */
export interface Sealer {
  readonly seal: (record: SessionRecord) => Either.Either<string, SessionStoreError>
  readonly open: (
    text: string,
    now: number
  ) => { readonly record: SessionRecord; readonly current: boolean } | undefined
}

/** The options of a sealer: `seal`'s and `unseal`'s, with one `maxLength` for both. @internal */
export interface SealerOptions {
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly maxLength?: number | undefined
  readonly retainExpired?: Duration.DurationInput | undefined
  readonly context?: string | undefined
}

/** @internal */
export const makeSealer = (options: SealerOptions): Effect.Effect<Sealer, SessionStoreError> =>
  Effect.suspend(() => {
    const secrets = options.secrets
    const problem = secretProblem(secrets)
    if (problem !== undefined) {
      return Effect.fail(new SessionStoreError({ store: STORE, operation: "connect", detail: problem }))
    }
    const sealOptions: SealOptions = {
      ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
      ...(options.context === undefined ? {} : { context: options.context })
    }
    // the same limit for unsealing as for sealing
    const unsealOptions: UnsealOptions = { ...sealOptions, retainExpired: retainMillis(options.retainExpired) }
    return Effect.succeed<Sealer>({
      seal: (record) => seal(record, secrets, sealOptions),
      open: (text, now) => open(text, secrets, now, unsealOptions)
    })
  })
