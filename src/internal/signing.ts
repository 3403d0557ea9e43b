import * as Redacted from "effect/Redacted"
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto"
import { isWellFormedId } from "./id.js"

/** A signed id is `<id>.<mac>`: 43 + 1 + 43 characters. @internal */
export const SIGNED_LENGTH = 87

const MAC_BYTES = 32

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
}

/** @internal */
export const makeSigner = (secrets: ReadonlyArray<Redacted.Redacted<string>>): Signer => {
  if (secrets.length === 0) throw new RangeError("effect-session: at least one secret is needed to sign session ids")
  const keys: Array<KeyObject> = secrets.map((secret, i) => {
    const value = Redacted.value(secret)
    if (Buffer.byteLength(value) < 32) {
      throw new RangeError(
        `effect-session: secret #${i + 1} is shorter than 32 bytes; use a random secret of 32 bytes or more`
      )
    }
    return createSecretKey(Buffer.from(value, "utf8"))
  })
  const mac = (key: KeyObject, id: string) => createHmac("sha256", key).update(id).digest()
  // a small cache of values already verified: a browser sends the same cookie on every request
  const cache = new Map<string, string>()
  const CACHE_MAX = 4096
  const sign = (id: string) => `${id}.${mac(keys[0]!, id).toString("base64url")}`
  const verify = (value: string): string | undefined => {
    if (value.length !== SIGNED_LENGTH || value.charCodeAt(43) !== 46 /* . */) return undefined
    const cached = cache.get(value)
    if (cached !== undefined) return cached
    const id = value.slice(0, 43)
    if (!isWellFormedId(id)) return undefined
    const encoded = value.slice(44)
    const given = Buffer.from(encoded, "base64url")
    // only the canonical encoding: no second spelling of a valid value
    if (given.length !== MAC_BYTES || given.toString("base64url") !== encoded) return undefined
    let ok = false
    for (const key of keys) {
      // every key is tried, so that the time does not tell which one matched
      if (timingSafeEqual(mac(key, id), given)) ok = true
    }
    if (!ok) return undefined
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!)
    cache.set(value, id)
    return id
  }
  return { sign, verify }
}
