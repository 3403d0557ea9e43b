// docs/stores.md. Type-checked by `npm run check`.
// #region filesystem
import { NodeContext } from "@effect/platform-node"
import { Layer } from "effect"
import * as FileSystemStore from "effect-session/SessionStore/FileSystem"

export const StoreLive = FileSystemStore.layerStore({ directory: "./var/sessions" }).pipe(
  Layer.provide(NodeContext.layer)
)
// #endregion filesystem
