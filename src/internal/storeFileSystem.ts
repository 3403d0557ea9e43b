import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import {
  SessionConflict,
  type SessionOptionError,
  SessionStoreError,
  type SessionStoreOperation
} from "../SessionError.js"
import type { Listing, SessionRecord, SessionStore, SessionStoreService, SessionSummary } from "../SessionStore.js"
import type { FileSystemStoreOptions } from "../SessionStore/FileSystem.js"
import { decodeRecordWithId, encodeRecordWithId } from "./record.js"
import { optionsFromConfig, retainOption, schedulePurge } from "./storeCommon.js"
import { summary } from "./storeList.js"
import { sessionStoreTag } from "./storeTag.js"
import { UserIndex } from "./userIndex.js"

const STORE = "file"

/**
 * The file name of a session: the SHA-256 of its id in hex, so that no id (whatever it holds:
 * slashes, dots, NUL) ever reaches the file system, and ids are not readable in a directory listing.
 *
 * @internal
 */
export const fileName = (id: string): string => `${hash(id)}.json`

const hash = (id: string): string => createHash("sha256").update(id, "utf8").digest("hex")

const SESSION_FILE = /^([0-9a-f]{64})\.json$/
const TEMP_FILE = /^[0-9a-f]{64}\.[0-9a-f]{16}\.tmp$/
const LOCK_STRIPES = 64

/**
 * What the store keeps in memory per file: enough for purge, deleteByUser and the listing without
 * reading. `id` is undefined for a file written before the files held their id (it is listed after
 * its next save) or one that cannot be read.
 */
interface IndexEntry {
  readonly id: string | undefined
  readonly createdAt: number
  readonly expiresAt: number
  readonly userId: string | undefined
}

/** Stored text, read: the record, or `corrupt` (the file exists but cannot be read), or none. */
type Read = { readonly _tag: "Missing" } | { readonly _tag: "Corrupt" } | {
  readonly _tag: "Found"
  readonly record: SessionRecord
  readonly id: string | undefined
}

const missing: Read = { _tag: "Missing" }
const corrupt: Read = { _tag: "Corrupt" }

const isNotFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "SystemError" &&
  (error as { readonly reason?: unknown }).reason === "NotFound"

const encoder = new TextEncoder()

/** @internal */
export const make = (
  options: FileSystemStoreOptions
): Effect.Effect<
  SessionStoreService,
  SessionStoreError | SessionOptionError,
  FileSystem.FileSystem | Path.Path | Scope.Scope
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const retain = yield* retainOption(options.retainExpired)
    const fsync = options.fsync ?? true
    const directory = path.resolve(options.directory)
    const fail = (operation: SessionStoreOperation) => (cause: unknown) =>
      new SessionStoreError({ store: STORE, operation, cause })

    yield* Effect.mapError(fs.makeDirectory(directory, { recursive: true, mode: 0o700 }), fail("connect"))

    const index = new Map<string, IndexEntry>()
    const byUser = new UserIndex()
    const stripes = Array.from({ length: LOCK_STRIPES }, () => Effect.unsafeMakeSemaphore(1))
    const locked = (h: string) => stripes[parseInt(h.slice(0, 2), 16) % LOCK_STRIPES]!.withPermits(1)
    const fileOf = (h: string) => path.join(directory, `${h}.json`)

    const unindex = (h: string) => {
      const entry = index.get(h)
      if (entry === undefined) return
      index.delete(h)
      byUser.remove(entry.userId, h)
    }
    const reindex = (h: string, entry: IndexEntry) => {
      unindex(h)
      index.set(h, entry)
      byUser.add(entry.userId, h)
    }
    const indexEntry = (record: SessionRecord, id: string | undefined): IndexEntry => ({
      id,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      userId: record.userId
    })

    const read = (h: string, operation: SessionStoreOperation): Effect.Effect<Read, SessionStoreError> =>
      fs.readFileString(fileOf(h)).pipe(
        Effect.map((text) =>
          Option.match(decodeRecordWithId(text), {
            onNone: () => corrupt,
            onSome: ({ id, record }): Read => ({ _tag: "Found", record, id })
          })
        ),
        Effect.catchIf(isNotFound, () => Effect.succeed(missing)),
        Effect.mapError(fail(operation))
      )

    const remove = (h: string, operation: SessionStoreOperation) =>
      fs.remove(fileOf(h)).pipe(
        Effect.catchIf(isNotFound, () => Effect.void),
        Effect.mapError(fail(operation)),
        Effect.zipRight(Effect.sync(() => unindex(h)))
      )

    // temp file in the same directory (same file system), then rename over the session file: a reader
    // sees the old file or the new one, and a crash leaves at most a stray temp file (removed at start)
    const writeAtomic = (h: string, text: string) => {
      const temp = path.join(directory, `${h}.${randomBytes(8).toString("hex")}.tmp`)
      const write = Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "wx", mode: 0o600 })
        yield* file.writeAll(encoder.encode(text))
        if (fsync) yield* file.sync
      }))
      return Effect.zipRight(write, fs.rename(temp, fileOf(h))).pipe(
        Effect.tapError(() => Effect.ignore(fs.remove(temp))),
        Effect.mapError(fail("save"))
      )
    }

    const load = (id: string) =>
      Effect.map(read(hash(id), "load"), (r) => r._tag === "Found" ? Option.some(r.record) : Option.none())

    const save = (id: string, record: SessionRecord, expectedVersion: number) => {
      const h = hash(id)
      return locked(h)(Effect.gen(function*() {
        const current = yield* read(h, "save")
        // a corrupt file counts as absent, as `load` reports it
        const version = current._tag === "Found" ? current.record.version : 0
        if (version !== expectedVersion) return yield* new SessionConflict({ store: STORE, expectedVersion })
        const text = yield* Effect.try({ try: () => encodeRecordWithId(record, id), catch: fail("save") })
        yield* writeAtomic(h, text)
        reindex(h, indexEntry(record, id))
      }))
    }

    const deleteByUser = (userId: string) =>
      Effect.suspend(() => {
        const hashes = byUser.keys(userId)
        return Effect.map(
          Effect.forEach(hashes, (h) =>
            locked(h)(Effect.gen(function*() {
              // the index only says where to look: the file decides
              const current = yield* read(h, "deleteByUser")
              if (current._tag === "Found" && current.record.userId === userId) {
                yield* remove(h, "deleteByUser")
                return 1
              }
              if (current._tag === "Found") {
                reindex(h, indexEntry(current.record, current.id))
              } else if (current._tag === "Missing") unindex(h)
              return 0
            })), { concurrency: 8 }),
          (removed) => removed.reduce<number>((a, b) => a + b, 0)
        )
      })

    const purge: Effect.Effect<number, SessionStoreError> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const isDead = (expiresAt: number) => expiresAt + retain <= now
      const candidates: Array<string> = []
      for (const [h, entry] of index) if (isDead(entry.expiresAt)) candidates.push(h)
      return Effect.map(
        Effect.forEach(candidates, (h) =>
          locked(h)(Effect.gen(function*() {
            const current = yield* read(h, "purge")
            if (current._tag === "Missing") {
              unindex(h)
              return 0
            }
            if (current._tag === "Found" && !isDead(current.record.expiresAt)) {
              reindex(h, indexEntry(current.record, current.id))
              return 0
            }
            yield* remove(h, "purge")
            return 1
          })), { concurrency: 8 }),
        (removed) => removed.reduce<number>((a, b) => a + b, 0)
      )
    })

    // rebuild the index from the directory; remove temp files a crash left behind. A file that cannot
    // be read is indexed as expired long ago, so that the first purge removes it.
    const names = yield* Effect.mapError(fs.readDirectory(directory), fail("connect"))
    yield* Effect.forEach(names, (name) => {
      if (TEMP_FILE.test(name)) return Effect.ignore(fs.remove(path.join(directory, name)))
      const match = SESSION_FILE.exec(name)
      if (match === null) return Effect.void
      const h = match[1]!
      return Effect.map(read(h, "connect"), (r) => {
        if (r._tag === "Found") reindex(h, indexEntry(r.record, r.id))
        else if (r._tag === "Corrupt") reindex(h, { id: undefined, createdAt: 0, expiresAt: 0, userId: undefined })
      })
    }, { concurrency: 16, discard: true })

    yield* schedulePurge(purge, options.purgeInterval)

    // from the index, which mirrors the directory (single process): no file is read
    const list: Listing = {
      entries: Stream.suspend(() => {
        const rows: Array<SessionSummary> = []
        for (const entry of index.values()) if (entry.id !== undefined) rows.push(summary(entry.id, entry))
        return Stream.fromIterable(rows)
      }),
      count: Effect.sync(() => index.size),
      clear: Effect.suspend(() =>
        Effect.forEach(Array.from(index.keys()), (h) => locked(h)(remove(h, "clear")), {
          concurrency: 8,
          discard: true
        })
      )
    }

    return {
      name: STORE,
      load,
      save,
      delete: (id: string, expectedVersion?: number) => {
        const h = hash(id)
        if (expectedVersion === undefined) return locked(h)(remove(h, "delete"))
        // compare-and-set: the version read and the removal under the id's lock, as a save does
        return locked(h)(Effect.gen(function*() {
          const current = yield* read(h, "delete")
          // a corrupt file counts as absent, as `load` reports it
          const version = current._tag === "Found" ? current.record.version : 0
          if (current._tag !== "Found" || version !== expectedVersion) {
            return yield* new SessionConflict({ store: STORE, expectedVersion })
          }
          yield* remove(h, "delete")
        }))
      },
      deleteByUser,
      purge,
      list
    } satisfies SessionStoreService
  })

/** @internal */
export const layerStore = (
  options: FileSystemStoreOptions
): Layer.Layer<SessionStore, SessionStoreError | SessionOptionError, FileSystem.FileSystem | Path.Path> =>
  Layer.scoped(sessionStoreTag, make(options))

/** @internal */
export const layerStoreConfig = (
  options: Config.Config.Wrap<FileSystemStoreOptions>
): Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> =>
  Layer.scoped(sessionStoreTag, optionsFromConfig(Effect.flatMap(Config.unwrap(options), make)))
