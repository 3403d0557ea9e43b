/**
 * The guide (docs/*.md) shows only checked code, and its links lead somewhere.
 *
 * - Every TypeScript block of a page (docs/*.md and README.md) is a region of a snippet file
 *   (type-checked by `npm run check`, run by docs/snippets/*.test.ts) and is identical to it:
 *   `npm run docs:snippets` copies the snippets into the pages, with the imports each region uses.
 * - Every block compiles as shown: a name it uses without declaring or importing it fails (checked
 *   without DOM types, so the DOM's global `Option` cannot stand in for Effect's).
 * - The `@example`s of the public modules' TSDoc compile (scripts/tsdoc-examples.ts).
 * - The API reference builds (`npm run docs` runs TypeDoc; here without writing it).
 * - Every relative link of the guide and of the top-level Markdown files points at a file that
 *   exists, and every `#anchor` into a page at one of its headings.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { checkAll, checkImports, docsDir, pages } from "../scripts/docs-snippets.js"
import * as TsdocExamples from "../scripts/tsdoc-examples.js"

const root = path.resolve(import.meta.dirname, "..")

/**
 * TSDoc examples known not to compile, to be fixed in src/: the file and a part of tsc's message.
 * Any other failing example fails the test. Remove an entry when its example is fixed.
 */
const knownBrokenExamples: ReadonlyArray<readonly [file: string, message: string]> = []

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const anchors = (file: string): ReadonlySet<string> =>
  new Set(
    fs.readFileSync(file, "utf8").split("\n").filter((l) => /^#{1,6} /.test(l)).map((l) =>
      l.replace(/^#+ /, "").trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-")
    )
  )

const markdownFiles = (): ReadonlyArray<string> => [
  ...pages().map((p) => path.join(docsDir, p)),
  ...fs.readdirSync(root).filter((f) => f.endsWith(".md")).map((f) => path.join(root, f))
]

describe("docs", () => {
  it("the guide has the pages the index lists", () => {
    expect(pages()).toEqual(expect.arrayContaining([
      "README.md",
      "getting-started.md",
      "unit-of-work.md",
      "savepoints.md",
      "expiry.md",
      "transports.md",
      "stores.md",
      "concurrency.md",
      "security.md",
      "testing.md",
      "from-express-session.md"
    ]))
  })

  it("every TypeScript block matches its snippet and imports what it uses (npm run docs:snippets)", {
    timeout: 120_000
  }, () => {
    const problems = checkAll(true)
    expect(problems.map((p) => `${p.page}:${p.line}: ${p.message}`)).toEqual([])
  })

  it("a block that uses a name it does not import fails the check, DOM globals included", { timeout: 120_000 }, () => {
    const problems = checkImports([
      { page: "a.md", line: 10, code: "export const n = Option.getOrElse(Option.none<number>(), () => 0)" },
      {
        page: "b.md",
        line: 20,
        code: "import { Schema } from \"effect\"\n\nexport const User = Session.key(\"user\", Schema.String)"
      },
      { page: "c.md", line: 30, code: "export const title = document.title" },
      {
        page: "ok.md",
        line: 40,
        code: "import { Option } from \"effect\"\nexport const n = Option.getOrElse(Option.none<number>(), () => 0)"
      }
    ])
    expect(problems.map((p) => `${p.page}:${p.line}: ${p.message.slice(0, p.message.indexOf("."))}`)).toEqual([
      "a.md:10: Cannot find name 'Option'",
      "b.md:22: Cannot find name 'Session'",
      "c.md:30: Cannot find name 'document'"
    ])
    for (const p of problems) expect(p.message).toMatch(/the block must import it\)$/)
  })

  it("relative links point at existing files and headings", () => {
    const broken: Array<string> = []
    for (const file of markdownFiles()) {
      const text = fs.readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "")
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!
        if (/^[a-z]+:/i.test(target)) continue // http:, https:, mailto:
        const [rel, anchor] = target.split("#") as [string, string | undefined]
        const resolved = rel === "" ? file : path.resolve(path.dirname(file), rel)
        if (!fs.existsSync(resolved)) {
          broken.push(`${path.relative(root, file)}: ${target} (no such file)`)
        } else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(resolved).has(anchor)) {
          broken.push(`${path.relative(root, file)}: ${target} (no such heading)`)
        }
      }
    }
    expect(broken).toEqual([])
  })

  it("the API reference builds (TypeDoc, the public modules as entry points)", { timeout: 120_000 }, async () => {
    const { stderr, stdout } = await promisify(execFile)(
      path.join(root, "node_modules", ".bin", "typedoc"),
      ["--emit", "none"],
      {
        cwd: root,
        timeout: 120_000
      }
    )
    // a failed build exits non-zero (execFile rejects); warnings about internal types are allowed
    expect(`${stdout}${stderr}`).not.toMatch(/\[error\]/)
  })

  it("the TSDoc examples of the public modules compile", { timeout: 120_000 }, async () => {
    const { examples, failures } = await TsdocExamples.check()
    expect(examples.length).toBeGreaterThan(10)
    const unexpected = [...failures].filter(([where, messages]) =>
      !messages.every((m) =>
        knownBrokenExamples.some(([file, message]) => where.startsWith(`${file}:`) && m.includes(message))
      )
    )
    expect(unexpected.map(([where, messages]) => `${where}: ${messages.join("; ")}`)).toEqual([])
  })
})
