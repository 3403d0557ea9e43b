/**
 * Session keys and their codecs: a typed key's schema decodes and encodes its value synchronously;
 * a plain (string) key holds JSON as it is. Values read out are frozen, so that a mutation of a
 * value read from the session never silently disappears (it throws, in strict mode).
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Key, SessionKey } from "../Session.js"
import { SessionDataError } from "../SessionError.js"
import { freezeJson, type Json, JsonProblem } from "./json.js"

/** @internal */
export const KeyTypeId: unique symbol = Symbol.for("effect-session/SessionKey")

/** @internal */
export const key = <A, I>(name: string, schema: Schema.Schema<A, I, never>): SessionKey<A, I> => ({
  [KeyTypeId]: KeyTypeId,
  name,
  schema
})

// where a value failed its schema, without the value itself: session data never goes into messages
const issuePaths = (error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "at the root" : `at ${issue.path.map((p) => `[${JSON.stringify(p)}]`).join("")}`
  )
  return Array.from(new Set(paths)).join(", ")
}

/** @internal */
export const keyName = (k: Key): string => typeof k === "string" ? k : k.name

interface Codec {
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encode: (a: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

// a key's parsers, made once: typed keys are decoded and encoded synchronously, without an effect
const codecs = new WeakMap<SessionKey<any, any>, Codec>()
const codecOf = (k: SessionKey<any, any>): Codec => {
  let codec = codecs.get(k)
  if (codec === undefined) {
    // a key's schema has a type of its own; its parsers are used on unknown values
    const schema = k.schema as Schema.Schema<unknown, unknown>
    codecs.set(k, codec = { decode: Schema.decodeUnknownEither(schema), encode: Schema.encodeUnknownEither(schema) })
  }
  return codec
}

const toJsonSync = (name: string, value: unknown): Json | SessionDataError => {
  const json = freezeJson(value)
  return json instanceof JsonProblem
    ? new SessionDataError({ key: name, reason: "NotJson", detail: json.detail })
    : json
}

/** The stored (JSON) form of a value, or why it cannot be stored. @internal */
export const encodeSync = (k: Key, value: unknown): Json | SessionDataError => {
  if (typeof k === "string") return toJsonSync(k, value)
  const encoded = codecOf(k).encode(value)
  return Either.isLeft(encoded)
    ? new SessionDataError({ key: k.name, reason: "Encode", detail: issuePaths(encoded.left) })
    : toJsonSync(k.name, encoded.right)
}

/**
 * Freezes the plain parts of a decoded value (arrays and plain objects, deeply). Instances of
 * classes (a `Date`, an `Option`, a `HashMap`, a `Data.Class`) are left as they are: Effect's
 * structures cache their hash on themselves, which a frozen object would refuse.
 */
const freezePlain = <A>(value: A): A => {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value
  const proto = Object.getPrototypeOf(value)
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value
  Object.freeze(value)
  for (const k of Object.keys(value)) freezePlain((value as Record<string, unknown>)[k])
  return value
}

/** A stored value, decoded for its key (frozen), or why it does not decode. @internal */
export const decodeSync = (k: Key, stored: Json): unknown => {
  if (typeof k === "string") return stored
  const decoded = codecOf(k).decode(stored)
  return Either.isLeft(decoded)
    ? new SessionDataError({ key: k.name, reason: "Decode", detail: issuePaths(decoded.left) })
    : freezePlain(decoded.right)
}
