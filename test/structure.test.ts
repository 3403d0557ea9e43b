/**
 * The shape of src/ that issue #12 set (STYLE.md rules 3 and 12): no value import cycle between
 * modules (internal code imports the public modules for types only; each tag is made once), no file
 * of more than about 450 lines of code, and no `as any` / `as unknown as` without a comment saying
 * why the types cannot express it.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"

const src = path.resolve(import.meta.dirname, "..", "src")
const files = (readdirSync(src, { recursive: true }) as Array<string>)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => path.join(src, f))

// value imports only: `import type`, and imports whose names are all `type`, carry no value
const valueImports = (file: string): Array<string> => {
  const text = readFileSync(file, "utf8")
  const out: Array<string> = []
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^"']*?)\s*from\s+"(\.[^"]+)"/gm)) {
    if (m[1] !== undefined) continue
    const names = m[2]!.trim()
    const braces = /^\{([^}]*)\}$/.exec(names)
    if (braces && braces[1]!.split(",").map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith("type "))) {
      continue
    }
    out.push(path.resolve(path.dirname(file), m[3]!.replace(/\.js$/, ".ts")))
  }
  return out
}

const codeLines = (file: string): number =>
  readFileSync(file, "utf8").split("\n").filter((line) => !/^\s*(\*|\/\*\*|\*\/|\/\/|$)/.test(line)).length

describe("src/ structure", () => {
  it("has no value import cycle", () => {
    const graph = new Map(files.map((f) => [f, valueImports(f)]))
    const cycles: Array<string> = []
    const state = new Map<string, "visiting" | "done">()
    const visit = (file: string, trail: Array<string>) => {
      if (state.get(file) === "done") return
      if (state.get(file) === "visiting") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(src, f)).join(" -> "))
        return
      }
      state.set(file, "visiting")
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file])
      state.set(file, "done")
    }
    for (const file of files) visit(file, [])
    expect(cycles).toEqual([])
    // the check sees imports at all
    expect(graph.get(path.join(src, "internal", "runner.ts"))!.length).toBeGreaterThan(3)
  })

  it("has no file over about 450 lines of code", () => {
    const big = files.filter((f) => codeLines(f) > 450).map((f) => `${path.relative(src, f)}: ${codeLines(f)}`)
    expect(big).toEqual([])
  })

  it("has no `as any` / `as unknown as` without a comment on the line or the line above", () => {
    const unexplained: Array<string> = []
    for (const file of files) {
      const lines = readFileSync(file, "utf8").split("\n")
      lines.forEach((line, i) => {
        if (/\bas (any|unknown as)\b/.test(line) && !/^\s*(\*|\/\/)/.test(line)) {
          const explained = /\/\//.test(line) || /^\s*\/\/|\*\//.test(lines[i - 1] ?? "")
          if (!explained) unexplained.push(`${path.relative(src, file)}:${i + 1}`)
        }
      })
    }
    expect(unexplained).toEqual([])
  })
})
