/**
 * The benchmarks run compiled JavaScript, as an app using the built package would: every file
 * under src/ and bench/ is transpiled file by file with TypeScript (`transpileModule`, no type
 * check; the project compiles with `isolatedModules`) into .tmp/bench-build/, same layout.
 *
 * Not tsx at run time: tsx compiles with esbuild's `keepNames`, which wraps every function
 * expression in a `__name(fn, "...")` call, so each closure made per request costs an extra
 * `Object.defineProperty` (about 1 % of the session server's time in a profile), and every
 * function shows up as `(anonymous)` on line 1 in a CPU profile.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import ts from "typescript"

/** The repository: this file runs from bench/ or, compiled, from .tmp/bench-build/bench/. */
export const ROOT = (() => {
  let dir = path.resolve(import.meta.dirname, "..")
  while (!existsSync(path.join(dir, ".git")) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return dir
})()
export const BUILD = path.join(ROOT, ".tmp", "bench-build")

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "results" ? [] : walk(full)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
  })

/** Transpiles src/ and bench/ into .tmp/bench-build/ and returns that directory. */
export const build = (): string => {
  rmSync(BUILD, { recursive: true, force: true })
  for (const file of [...walk(path.join(ROOT, "src")), ...walk(path.join(ROOT, "bench"))]) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
        esModuleInterop: true,
        sourceMap: false
      }
    })
    const out = path.join(BUILD, path.relative(ROOT, file)).replace(/\.ts$/, ".js")
    mkdirSync(path.dirname(out), { recursive: true })
    writeFileSync(out, outputText)
  }
  return BUILD
}

/** The compiled form of a file of this repository (e.g. "bench/servers/effect.ts"). */
export const compiled = (file: string): string => path.join(BUILD, file.replace(/\.ts$/, ".js"))

/** Which code was measured: the commit, and a hash of src/ as it was in the work tree. */
export const codeState = (): string => {
  const git = (...args: Array<string>) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout.trim()
  const files = git("ls-files", "--cached", "--others", "--exclude-standard", "src").split("\n").filter(Boolean).sort()
  const hash = createHash("sha256")
  for (const file of files) {
    try {
      hash.update(file).update(readFileSync(path.join(ROOT, file)))
    } catch {
      // deleted in the work tree
    }
  }
  const dirty = git("status", "--porcelain", "src").length > 0
  return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes in src/" : ""} (src/ sha256 ${
    hash.digest("hex").slice(0, 12)
  })`
}
