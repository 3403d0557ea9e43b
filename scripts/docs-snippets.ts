/**
 * Keeps the TypeScript in the guide (docs/*.md) identical to the checked snippets in docs/snippets/.
 *
 * In a guide page, a TypeScript block follows a marker that names a region of a snippet file:
 *
 *     <!-- snippet: unit-of-work.ts#transaction -->
 *     ```ts
 *     ...
 *     ```
 *
 * and the region is the lines between `// #region transaction` and `// #endregion transaction` in
 * docs/snippets/unit-of-work.ts. The snippet files are type-checked by `npm run check` (docs/snippets
 * is in tsconfig.json's include) and run by their tests (docs/snippets/*.test.ts), so a page cannot
 * show code that does not compile or does not do what the page says.
 *
 *   npm run docs:snippets           rewrite the blocks of every page from the snippet files
 *   npm run docs:snippets -- --check  only report blocks that differ, or TypeScript blocks without
 *                                     a marker (test/docs.test.ts runs this check)
 */
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
export const docsDir = path.join(root, "docs")
export const snippetsDir = path.join(docsDir, "snippets")

const MARKER = /^<!-- snippet: ([\w.-]+)(?:#([\w-]+))? -->$/
const FENCE_OPEN = /^```(ts|typescript)\s*$/
const FENCE_CLOSE = /^```\s*$/

/** The lines of a region of a snippet file (the whole file without region markers when no region is named). */
export const region = (file: string, name: string | undefined): string => {
  const source = fs.readFileSync(path.join(snippetsDir, file), "utf8").split("\n")
  const isMarker = (line: string) => /^\s*\/\/ #(end)?region\b/.test(line)
  if (name === undefined) return source.filter((l) => !isMarker(l)).join("\n").trimEnd()
  const start = source.findIndex((l) => l.trim() === `// #region ${name}`)
  if (start === -1) throw new Error(`docs/snippets/${file}: no "// #region ${name}"`)
  const end = source.findIndex((l, i) => i > start && l.trim() === `// #endregion ${name}`)
  if (end === -1) throw new Error(`docs/snippets/${file}: no "// #endregion ${name}"`)
  return source.slice(start + 1, end).filter((l) => !isMarker(l)).join("\n").trimEnd()
}

export interface Problem {
  readonly page: string
  readonly line: number
  readonly message: string
}

/** Rewrites (or, with `check`, only compares) the marked blocks of one page. */
export const processPage = (page: string, check: boolean): ReadonlyArray<Problem> => {
  const file = path.join(docsDir, page)
  const lines = fs.readFileSync(file, "utf8").split("\n")
  const out: Array<string> = []
  const problems: Array<Problem> = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const marker = MARKER.exec(line.trim())
    if (marker !== null) {
      out.push(line)
      const open = i + 1
      if (open >= lines.length || !FENCE_OPEN.test(lines[open]!)) {
        problems.push({ page, line: i + 1, message: "a snippet marker must be followed by a ```ts block" })
        continue
      }
      const close = lines.findIndex((l, j) => j > open && FENCE_CLOSE.test(l))
      if (close === -1) {
        problems.push({ page, line: open + 1, message: "unclosed code block" })
        continue
      }
      let expected: string
      try {
        expected = region(marker[1]!, marker[2])
      } catch (error) {
        problems.push({ page, line: i + 1, message: (error as Error).message })
        continue
      }
      const actual = lines.slice(open + 1, close).join("\n")
      if (actual !== expected) {
        problems.push({
          page,
          line: open + 1,
          message: `block differs from docs/snippets/${marker[1]}${marker[2] ? `#${marker[2]}` : ""}`
        })
      }
      out.push(lines[open]!)
      for (const l of expected.split("\n")) out.push(l)
      out.push(lines[close]!)
      i = close
      continue
    }
    if (FENCE_OPEN.test(line)) {
      problems.push({ page, line: i + 1, message: "a TypeScript block without a snippet marker (it is not checked)" })
    }
    out.push(line)
  }
  if (!check) {
    const text = out.join("\n")
    if (text !== lines.join("\n")) fs.writeFileSync(file, text)
  }
  return check ? problems : problems.filter((p) => !p.message.startsWith("block differs"))
}

/** The guide's pages: docs/*.md. */
export const pages = (): ReadonlyArray<string> => fs.readdirSync(docsDir).filter((f) => f.endsWith(".md")).sort()

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const check = process.argv.includes("--check")
  const problems = pages().flatMap((page) => processPage(page, check))
  for (const p of problems) console.error(`docs/${p.page}:${p.line}: ${p.message}`)
  if (problems.length > 0) process.exit(1)
  console.log(check ? "docs: every TypeScript block matches its snippet" : "docs: blocks rewritten from the snippets")
}
