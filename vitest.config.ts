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
    // starts Redis, a Redis Cluster and PostgreSQL (scripts/services.sh) unless REDIS_URL,
    // REDIS_CLUSTER_NODES and DATABASE_URL are given, and stops what it started at the end
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
