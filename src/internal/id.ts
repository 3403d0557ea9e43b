import * as Encoding from "effect/Encoding"

/** The number of random bytes in a session id: 256 bits. @internal */
export const ID_BYTES = 32

/**
 * A new session id: 256 bits from the platform CSPRNG (WebCrypto `getRandomValues`), base64url
 * without padding (43 characters).
 *
 * @internal
 */
export const generateId = (): string =>
  Encoding.encodeBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(ID_BYTES)))

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

/**
 * Whether a string has the shape of an id made by {@link generateId}. Transports reject anything
 * else before the store is asked.
 *
 * @internal
 */
export const isWellFormedId = (id: string): boolean => ID_PATTERN.test(id)
