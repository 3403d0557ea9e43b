/**
 * A session store on the file system, through `@effect/platform`'s `FileSystem` (on Node:
 * `NodeContext.layer` from `@effect/platform-node`). For one process that wants its sessions to
 * survive a restart, with nothing to install.
 *
 * - One file per session, named by the SHA-256 of the id (hex): no id ever reaches the file system,
 *   whatever it holds, so there is no path traversal, and a directory listing shows no ids. Files
 *   are created with mode `0600`, the directory with `0700`.
 * - Every write is atomic: the record goes to a temp file in the same directory (flushed with
 *   `fsync` unless `fsync: false`), then `rename`s over the session file. A reader sees the old
 *   record or the new one; a crash leaves at most a stray temp file, removed at the next start.
 * - **Single process.** Compare-and-set is made atomic by locks held in memory (striped by id), and
 *   the expiry and user of every file are indexed in memory (rebuilt by reading the directory when
 *   the layer starts). Two processes sharing one directory would overwrite each other's updates:
 *   use the SQL or Redis store for several instances.
 * - Expired records are kept for `retainExpired` (so that a returning client can be told what
 *   expired), then removed by a purge that runs on a schedule in the layer's scope.
 * - Listing (`SessionStore.list`): from the index in memory, no file read. Each file holds its
 *   session's id (inside the JSON, never in its name); a file written before 0.2 has none and is
 *   listed after its next save.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "../internal/storeFileSystem.js"
import type { SessionOptionError, SessionStoreError } from "../SessionError.js"
import type { SessionStore, SessionStoreService } from "../SessionStore.js"

/**
 * Options of the file system store.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import * as FileSystemStore from "effect-session/SessionStore/FileSystem"
 *
 * const options: FileSystemStore.FileSystemStoreOptions = {
 *   directory: "/var/lib/my-app/sessions",
 *   retainExpired: "15 minutes",
 *   purgeInterval: "1 minute"
 * }
 * const StoreLive = FileSystemStore.layerStore(options).pipe(Layer.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface FileSystemStoreOptions {
  /** The directory of the session files; created (with its parents) when missing. */
  readonly directory: string
  /**
   * How long an expired session is kept so that a returning client can be told what expired.
   * Default: 1 hour.
   */
  readonly retainExpired?: Duration.DurationInput | undefined
  /**
   * How often the purge runs (a fiber in the layer's scope). Default: 5 minutes.
   * `Duration.infinity` turns it off (call `purge` yourself).
   */
  readonly purgeInterval?: Duration.DurationInput | undefined
  /**
   * Flush every write to disk (`fsync` on the temp file) before the rename. Default: `true`. Without
   * it a write is still atomic, but a power loss may lose the latest saves.
   */
  readonly fsync?: boolean | undefined
}

/**
 * Makes a file system store in the current scope: creates the directory, removes temp files a
 * crash left behind, indexes the existing sessions, and forks the purge fiber, which stops with the
 * scope. Fails with `SessionStoreError` (operation `connect`) when the directory cannot be used,
 * and with `SessionOptionError` on an invalid option (`retainExpired`, `purgeInterval`).
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Duration, Effect } from "effect"
 * import * as FileSystemStore from "effect-session/SessionStore/FileSystem"
 *
 * // a maintenance job: purge expired sessions once, then exit
 * const purgeOnce = Effect.gen(function*() {
 *   const store = yield* FileSystemStore.make({ directory: "./var/sessions", purgeInterval: Duration.infinity })
 *   const removed = yield* store.purge
 *   yield* Effect.log(`${removed} expired sessions removed`)
 * }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: FileSystemStoreOptions
) => Effect.Effect<
  SessionStoreService,
  SessionStoreError | SessionOptionError,
  FileSystem.FileSystem | Path.Path | Scope.Scope
> = internal.make

/**
 * The file system store as a layer.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import * as FileSystemStore from "effect-session/SessionStore/FileSystem"
 *
 * const StoreLive = FileSystemStore.layerStore({ directory: "./var/sessions" }).pipe(
 *   Layer.provide(NodeContext.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore: (
  options: FileSystemStoreOptions
) => Layer.Layer<SessionStore, SessionStoreError | SessionOptionError, FileSystem.FileSystem | Path.Path> =
  internal.layerStore

/**
 * The file system store as a layer, its options read from `Config`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import * as FileSystemStore from "effect-session/SessionStore/FileSystem"
 *
 * const StoreLive = FileSystemStore.layerStoreConfig({
 *   directory: Config.string("SESSION_DIR"),
 *   retainExpired: Config.duration("SESSION_RETAIN").pipe(Config.withDefault("1 hour"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStoreConfig: (
  options: Config.Config.Wrap<FileSystemStoreOptions>
) => Layer.Layer<SessionStore, SessionStoreError | ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> =
  internal.layerStoreConfig

/**
 * The name of the file that holds the session `id` (inside the store's directory): the SHA-256 of
 * the id in hex, plus `.json`. For operators who need to find one session's file.
 *
 * @example
 * ```ts
 * import * as path from "node:path"
 * import * as FileSystemStore from "effect-session/SessionStore/FileSystem"
 *
 * const fileOf = (directory: string, sessionId: string) => path.join(directory, FileSystemStore.fileName(sessionId))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fileName: (id: string) => string = internal.fileName
