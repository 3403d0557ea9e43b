import * as Option from "effect/Option"
import type { SessionRecord } from "../SessionStore.js"

/** The current stored-record format. @internal */
export const FORMAT = 1

/** @internal */
export type RecordMigration = (stored: { readonly [key: string]: unknown }) => SessionRecord | undefined

/** @internal */
export const encodeRecord = (record: SessionRecord): string =>
  JSON.stringify({
    v: FORMAT,
    version: record.version,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    ...(record.userId === undefined ? {} : { userId: record.userId }),
    data: record.data
  })

const isPlainObject = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isTime = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0

/**
 * Checks the shape of a parsed record of the current format.
 *
 * @internal
 */
export const validRecord = (u: unknown): SessionRecord | undefined => {
  if (!isPlainObject(u)) return undefined
  const { createdAt, data, expiresAt, userId, version } = u
  if (
    !isTime(version) || !isTime(createdAt) || !isTime(expiresAt) || !isPlainObject(data) ||
    (userId !== undefined && typeof userId !== "string")
  ) {
    return undefined
  }
  return userId === undefined
    ? { data, version, createdAt, expiresAt }
    : { data, version, createdAt, expiresAt, userId }
}

/** @internal */
export const decodeRecord = (text: string, migrate?: RecordMigration): Option.Option<SessionRecord> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return Option.none()
  }
  if (!isPlainObject(parsed)) return Option.none()
  if (parsed.v === FORMAT) return Option.fromNullable(validRecord(parsed))
  if (migrate === undefined) return Option.none()
  try {
    return Option.fromNullable(validRecord(migrate(parsed)))
  } catch {
    return Option.none()
  }
}
