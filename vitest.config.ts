import * as path from "node:path"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-session$/, replacement: path.resolve(import.meta.dirname, "src/index.ts") },
      { find: /^effect-session\/(.*)$/, replacement: path.resolve(import.meta.dirname, "src/$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "docs/snippets/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
