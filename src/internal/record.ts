import * as Option from "effect/Option"
import type { SessionRecord } from "../SessionStore.js"

/** The current stored-record format. @internal */
export const FORMAT = 1

/** @internal */
export type RecordMigration = (stored: { readonly [key: string]: unknown }) => SessionRecord | undefined

// a number as JSON.stringify writes it (null when not finite)
const jsonNumber = (n: number): string => Number.isFinite(n) ? String(n) : "null"

/**
 * The record as JSON: `{"v":1,"version":…,"createdAt":…,"expiresAt":…,"userId":…,"data":…}` (no
 * `userId` when unbound), the same text as `JSON.stringify` of that object, written without making it.
 *
 * @internal
 */
export const encodeRecord = (record: SessionRecord): string => encode(record, "")

/**
 * The record as {@link encodeRecord} writes it, with the session's id after the format version
 * (`{"v":1,"id":…,…}`): for a store that must find its sessions' ids again (the file system store,
 * whose files are named by a hash). {@link decodeRecord} ignores the field.
 *
 * @internal
 */
export const encodeRecordWithId = (record: SessionRecord, id: string): string =>
  encode(record, `,"id":${JSON.stringify(id)}`)

const encode = (record: SessionRecord, extra: string): string => {
  const data: string | undefined = JSON.stringify(record.data)
  return `{"v":${FORMAT}${extra},"version":${jsonNumber(record.version)},"createdAt":${
    jsonNumber(record.createdAt)
  },"expiresAt":${jsonNumber(record.expiresAt)}${
    record.userId === undefined ? "" : `,"userId":${JSON.stringify(record.userId)}`
  }${data === undefined ? "" : `,"data":${data}`}}`
}

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
  return decodeParsed(parsed, migrate)
}

/**
 * The record and the id {@link encodeRecordWithId} wrote (`undefined` in a record written without
 * it), from stored text parsed once; none when the text is not a record.
 *
 * @internal
 */
export const decodeRecordWithId = (
  text: string
): Option.Option<{ readonly record: SessionRecord; readonly id: string | undefined }> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return Option.none()
  }
  return Option.map(decodeParsed(parsed), (record) => ({
    record,
    id: isPlainObject(parsed) && typeof parsed.id === "string" ? parsed.id : undefined
  }))
}

const decodeParsed = (parsed: unknown, migrate?: RecordMigration): Option.Option<SessionRecord> => {
  if (!isPlainObject(parsed)) return Option.none()
  if (parsed.v === FORMAT) return Option.fromNullable(validRecord(parsed))
  if (migrate === undefined) return Option.none()
  try {
    return Option.fromNullable(validRecord(migrate(parsed)))
  } catch {
    return Option.none()
  }
}
