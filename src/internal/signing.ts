import * as Redacted from "effect/Redacted"
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto"
import { SessionOptionError } from "../SessionError.js"
import { isWellFormedId } from "./id.js"

/** A signed id is `<id>.<mac>`: 43 + 1 + 43 characters. @internal */
export const SIGNED_LENGTH = 87

/** The shortest secret, in bytes. @internal */
export const MIN_SECRET_BYTES = 32

const MAC_BYTES = 32
// a minted token carries its minting time (seconds, base36) between the id and the mac
const MINTED = /^[0-9a-z]{1,10}$/

/**
 * What a verified token says: the id, whether the first secret signed it (otherwise it is re-signed
 * on the response), and for a minted token (see `mint`) the time it was minted, epoch milliseconds
 * rounded down to the second.
 *
 * @internal
 */
export interface Verified {
  readonly id: string
  readonly current: boolean
  readonly mintedAt: number | undefined
}

/**
 * Signs and verifies session ids with HMAC-SHA256 (node:crypto, synchronous): the first secret
 * signs, every secret verifies (key rotation). Verification compares in constant time, and refuses
 * anything that is not exactly the shape of a signed id before any crypto runs.
 *
 * @internal
 */
export interface Signer {
  readonly sign: (id: string) => string
  readonly verify: (value: string) => string | undefined
  /** Like `verify`, with whether the first secret signed it and when a minted token was minted. */
  readonly open: (value: string) => Verified | undefined
  /**
   * `<id>.<t>.<mac>`: an id with the time it was handed out (the query transport's redirect), so
   * that an id that is not stored can be told apart from one that was stored and has expired since.
   */
  readonly mint: (id: string, now: number) => string
}

/**
 * The problem with a list of secrets, if any: none, or one shorter than 32 bytes. Says which one
 * by its position, never its value.
 *
 * @internal
 */
export const secretsProblem = (
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  option = "secrets"
): SessionOptionError | undefined => {
  if (secrets.length === 0) {
    return new SessionOptionError({ option, detail: "at least one secret is needed to sign session ids" })
  }
  for (let i = 0; i < secrets.length; i++) {
    if (Buffer.byteLength(Redacted.value(secrets[i]!)) < MIN_SECRET_BYTES) {
      return new SessionOptionError({
        option,
        detail: `secret #${i + 1} is shorter than ${MIN_SECRET_BYTES} bytes; use a random secret of ` +
          `${MIN_SECRET_BYTES} bytes or more (when read with Config.array, a comma splits a secret in two: ` +
          "make secrets without commas, e.g. openssl rand -base64 32)"
      })
    }
  }
  return undefined
}

/** A signer for secrets that `secretsProblem` accepted. @internal */
export const makeSigner = (secrets: ReadonlyArray<Redacted.Redacted<string>>): Signer => {
  const problem = secretsProblem(secrets)
  if (problem !== undefined) throw problem
  const keys: Array<KeyObject> = secrets.map((secret) => createSecretKey(Buffer.from(Redacted.value(secret), "utf8")))
  const mac = (key: KeyObject, payload: string) => createHmac("sha256", key).update(payload).digest()
  // a small cache of values already verified: a browser sends the same cookie on every request
  const cache = new Map<string, Verified>()
  const CACHE_MAX = 4096
  const sign = (id: string) => `${id}.${mac(keys[0]!, id).toString("base64url")}`
  const mint = (id: string, now: number) => {
    const payload = `${id}.${Math.floor(now / 1000).toString(36)}`
    return `${payload}.${mac(keys[0]!, payload).toString("base64url")}`
  }
  const open = (value: string): Verified | undefined => {
    let payloadEnd: number
    let mintedAt: number | undefined
    if (value.length === SIGNED_LENGTH) {
      if (value.charCodeAt(43) !== 46 /* . */) return undefined
      payloadEnd = 43
    } else {
      if (value.length < SIGNED_LENGTH + 2 || value.length > SIGNED_LENGTH + 11 || value.charCodeAt(43) !== 46) {
        return undefined
      }
      payloadEnd = value.length - 44
      if (value.charCodeAt(payloadEnd) !== 46) return undefined
      const time = value.slice(44, payloadEnd)
      if (!MINTED.test(time)) return undefined
      mintedAt = parseInt(time, 36) * 1000
    }
    const cached = cache.get(value)
    if (cached !== undefined) return cached
    const id = value.slice(0, 43)
    if (!isWellFormedId(id)) return undefined
    const payload = value.slice(0, payloadEnd)
    const encoded = value.slice(payloadEnd + 1)
    const given = Buffer.from(encoded, "base64url")
    // only the canonical encoding: no second spelling of a valid value
    if (given.length !== MAC_BYTES || given.toString("base64url") !== encoded) return undefined
    let matched = -1
    for (let i = 0; i < keys.length; i++) {
      // every key is tried, so that the time does not tell which one matched
      if (timingSafeEqual(mac(keys[i]!, payload), given) && matched === -1) matched = i
    }
    if (matched === -1) return undefined
    const verified: Verified = { id, current: matched === 0, mintedAt }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!)
    cache.set(value, verified)
    return verified
  }
  const verify = (value: string): string | undefined => open(value)?.id
  return { sign, verify, open, mint }
}
