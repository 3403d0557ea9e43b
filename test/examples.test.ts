import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, "..")
const tsx = path.join(root, "node_modules", ".bin", "tsx")

describe("examples", () => {
  it("examples/seed.ts runs the seed's scenarios and prints CromLech", async () => {
    const { stdout } = await run(tsx, [path.join(root, "examples", "seed.ts")], { cwd: root, timeout: 60_000 })
    const lines = stdout.trim().split("\n")
    expect(lines).toEqual([
      "visit /foo: /foo",
      "visit /bar: /foo, /bar",
      "visit /fail: failed (Failed), changes discarded",
      "history now: /foo, /bar",
      "write after the unit closed: SessionStateError: Session's current state disallows writing",
      "CromLech"
    ])
  })
})
