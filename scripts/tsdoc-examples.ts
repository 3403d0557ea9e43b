/**
 * Type-checks the `@example` blocks of the public modules' TSDoc (src/*.ts, src/SessionStore/*.ts;
 * not src/internal): each block becomes a module in .tmp/tsdoc-examples/, compiled with the root
 * tsconfig (strict, `effect-session` resolved to src/ through `paths`).
 *
 *   npx tsx scripts/tsdoc-examples.ts     prints every example that does not compile; exit 1 if any
 *
 * test/docs.test.ts runs it too.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"

const root = path.resolve(import.meta.dirname, "..")
const outDir = path.join(root, ".tmp", "tsdoc-examples")

export interface Example {
  /** `src/HttpSession.ts:16`: the file and the line of its `@example` tag. */
  readonly where: string
  readonly file: string
}

const publicModules = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "internal" ? [] : publicModules(full)
    return entry.name.endsWith(".ts") ? [full] : []
  })

const EXAMPLE =
  /@example[ \t]*\n((?:[ \t]*\*.*\n)*?)[ \t]*\*[ \t]*```(?:ts|typescript)[ \t]*\n((?:[ \t]*\*.*\n)*?)[ \t]*\*[ \t]*```/g

/** Writes every example of the public modules to .tmp/tsdoc-examples/ (emptied first). */
export const extract = (): ReadonlyArray<Example> => {
  fs.rmSync(outDir, { recursive: true, force: true })
  fs.mkdirSync(outDir, { recursive: true })
  const examples: Array<Example> = []
  for (const source of publicModules(path.join(root, "src"))) {
    const text = fs.readFileSync(source, "utf8")
    const rel = path.relative(root, source)
    for (const match of text.matchAll(EXAMPLE)) {
      const line = text.slice(0, match.index).split("\n").length
      const code = match[2]!.split("\n").map((l) => l.replace(/^[ \t]*\* ?/, "")).join("\n")
      const file = path.join(outDir, `${rel.replace(/[/\\.]/g, "_")}_${line}.ts`)
      // `export {}`: every example is a module of its own, so their names do not collide
      fs.writeFileSync(file, `// ${rel}:${line}\nexport {}\n${code}`)
      examples.push({ where: `${rel}:${line}`, file })
    }
  }
  fs.writeFileSync(
    path.join(outDir, "tsconfig.json"),
    JSON.stringify(
      {
        extends: "../../tsconfig.json",
        compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
        include: ["./*.ts"]
      },
      null,
      2
    )
  )
  return examples
}

/** Compiles the examples; gives the failing ones, each with tsc's messages. */
export const check = async (): Promise<
  { readonly examples: ReadonlyArray<Example>; readonly failures: ReadonlyMap<string, ReadonlyArray<string>> }
> => {
  const examples = extract()
  const tsc = path.join(root, "node_modules", ".bin", "tsc")
  const output = await promisify(execFile)(tsc, ["-p", outDir], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => error.stdout ?? ""
  )
  const failures = new Map<string, Array<string>>()
  for (const line of output.split("\n")) {
    const match = /^(.*?\.ts)\((\d+),\d+\): (error .*)$/.exec(line)
    if (match === null) continue
    const example = examples.find((e) => path.resolve(root, match[1]!) === e.file)
    const where = example?.where ?? match[1]!
    failures.set(where, [...(failures.get(where) ?? []), match[3]!])
  }
  return { examples, failures }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { examples, failures } = await check()
  for (const [where, messages] of failures) console.error(`${where}: ${messages.join("; ")}`)
  console.log(`${examples.length} TSDoc examples, ${failures.size} that do not compile`)
  if (failures.size > 0) process.exit(1)
}
