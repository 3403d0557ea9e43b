/**
 * Keeps the TypeScript in the guide (docs/*.md) and in README.md identical to checked snippet files,
 * and makes sure every block compiles as shown: a reader who pastes one gets its imports too.
 *
 * In a page, a TypeScript block follows a marker that names a region of a snippet file:
 *
 *     <!-- snippet: unit-of-work.ts#transaction -->
 *     ```ts
 *     ...
 *     ```
 *
 * and the region is the lines between `// #region transaction` and `// #endregion transaction` in
 * docs/snippets/unit-of-work.ts (a path with a slash is relative to docs/snippets:
 * `../../examples/workflow.ts#readme`). The snippet files are type-checked by `npm run check`
 * (docs/snippets is in tsconfig.json's include) and run by their tests (docs/snippets/*.test.ts), so
 * a page cannot show code that does not compile or does not do what the page says.
 *
 * A block shows its region preceded by the snippet file's import lines that the region uses and does
 * not import itself (several regions of one file share the file's imports; each block shows its
 * own). Then every block is type-checked on its own, as a module of its own, with the `lib` the guide
 * recommends (ES2022, no DOM: the DOM's global `Option` would otherwise stand in for a missing
 * import of Effect's): a name it uses but neither declares nor imports fails the check.
 *
 *   npm run docs:snippets           rewrite the blocks of every page from the snippet files
 *   npm run docs:snippets -- --check  only report blocks that differ, TypeScript blocks without a
 *                                     marker, and blocks that use a name they do not import
 *                                     (test/docs.test.ts runs this check)
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")
export const docsDir = path.join(root, "docs")
export const snippetsDir = path.join(docsDir, "snippets")

const MARKER = /^<!-- snippet: ([\w./-]+)(?:#([\w-]+))? -->$/
const FENCE_OPEN = /^```(ts|typescript)\s*$/
const FENCE_CLOSE = /^```\s*$/

const isRegionMarker = (line: string) => /^\s*\/\/ #(end)?region\b/.test(line)

/** The names a piece of code refers to (not property names, not the names it declares as members). */
const referencedNames = (code: string): ReadonlySet<string> => {
  const source = ts.createSourceFile("region.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  const names = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent
      const isMemberName = (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node) ||
        ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent) ||
          ts.isPropertySignature(parent)) && parent.name === node)
      if (!isMemberName) names.add(node.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return names
}

/** The import declarations of a file, with the names each one binds. */
const importsOf = (code: string) => {
  const source = ts.createSourceFile("file.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  return source.statements.filter(ts.isImportDeclaration).map((decl) => {
    const clause = decl.importClause
    const bindings: Array<{ readonly name: string; readonly text: string }> = []
    let namespace: string | undefined
    let defaultName: string | undefined
    if (clause?.name) defaultName = clause.name.text
    const named = clause?.namedBindings
    if (named && ts.isNamespaceImport(named)) namespace = named.name.text
    if (named && ts.isNamedImports(named)) {
      for (const element of named.elements) bindings.push({ name: element.name.text, text: element.getText(source) })
    }
    return {
      module: (decl.moduleSpecifier as ts.StringLiteral).text,
      typeOnly: clause?.isTypeOnly === true,
      defaultName,
      namespace,
      bindings
    }
  })
}

/** The import lines of `fileLines` outside the region that bind a name the region uses and does not import. */
const importsFor = (outside: string, body: string): ReadonlyArray<string> => {
  const used = referencedNames(body)
  const own = new Set(
    importsOf(body).flatMap((i) => [i.defaultName, i.namespace, ...i.bindings.map((b) => b.name)])
  )
  const needed = (name: string | undefined): name is string => name !== undefined && used.has(name) && !own.has(name)
  const lines: Array<string> = []
  for (const i of importsOf(outside)) {
    const type = i.typeOnly ? "type " : ""
    if (needed(i.namespace)) lines.push(`import ${type}* as ${i.namespace} from "${i.module}"`)
    const named = i.bindings.filter((b) => needed(b.name)).map((b) => b.text)
    const head = needed(i.defaultName) ? i.defaultName : undefined
    if (named.length > 0 || head !== undefined) {
      const parts = [head, named.length > 0 ? `{ ${named.join(", ")} }` : undefined].filter((p) => p !== undefined)
      lines.push(`import ${type}${parts.join(", ")} from "${i.module}"`)
    }
  }
  return lines
}

/**
 * The block a page shows for a region of a snippet file (the whole file without region markers when
 * no region is named): the region's lines, preceded by the file's imports that it needs.
 */
export const region = (file: string, name: string | undefined): string => {
  const source = fs.readFileSync(path.resolve(snippetsDir, file), "utf8").split("\n")
  if (name === undefined) return source.filter((l) => !isRegionMarker(l)).join("\n").trimEnd()
  const start = source.findIndex((l) => l.trim() === `// #region ${name}`)
  if (start === -1) throw new Error(`docs/snippets/${file}: no "// #region ${name}"`)
  const end = source.findIndex((l, i) => i > start && l.trim() === `// #endregion ${name}`)
  if (end === -1) throw new Error(`docs/snippets/${file}: no "// #endregion ${name}"`)
  const body = source.slice(start + 1, end).filter((l) => !isRegionMarker(l)).join("\n").trimEnd()
  const outside = [...source.slice(0, start), ...source.slice(end + 1)].join("\n")
  const imports = importsFor(outside, body)
  if (imports.length === 0) return body
  // beside the region's own import lines, if it has some; else followed by a blank line
  return `${imports.join("\n")}${body.startsWith("import ") ? "\n" : "\n\n"}${body}`
}

export interface Problem {
  readonly page: string
  readonly line: number
  readonly message: string
}

/** A TypeScript block of a page: where it is and what it says. */
export interface Block {
  readonly page: string
  /** the line of the block's first code line (1-based) */
  readonly line: number
  readonly code: string
}

/**
 * Rewrites (or, with `check`, only compares) the marked blocks of one page, `page` relative to the
 * repository (`docs/expiry.md`, `README.md`). Gives the problems and the blocks as they are (check)
 * or as they were written.
 */
export const processPageBlocks = (
  page: string,
  check: boolean
): { readonly problems: ReadonlyArray<Problem>; readonly blocks: ReadonlyArray<Block> } => {
  const file = path.join(root, page)
  const lines = fs.readFileSync(file, "utf8").split("\n")
  const out: Array<string> = []
  const problems: Array<Problem> = []
  const blocks: Array<Block> = []
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
      blocks.push({ page, line: open + 2, code: check ? actual : expected })
      out.push(lines[open]!)
      for (const l of expected.split("\n")) out.push(l)
      out.push(lines[close]!)
      i = close
      continue
    }
    if (FENCE_OPEN.test(line)) {
      problems.push({ page, line: i + 1, message: "a TypeScript block without a snippet marker (it is not checked)" })
      const close = lines.findIndex((l, j) => j > i && FENCE_CLOSE.test(l))
      if (close !== -1) blocks.push({ page, line: i + 2, code: lines.slice(i + 1, close).join("\n") })
    }
    out.push(line)
  }
  if (!check) {
    const text = out.join("\n")
    if (text !== lines.join("\n")) fs.writeFileSync(file, text)
  }
  return { problems: check ? problems : problems.filter((p) => !p.message.startsWith("block differs")), blocks }
}

/** Rewrites (or, with `check`, only compares) the marked blocks of one page (relative to the repository). */
export const processPage = (page: string, check: boolean): ReadonlyArray<Problem> =>
  processPageBlocks(page, check).problems

/** Diagnostics that mean "this name is neither declared nor imported here". */
const UNRESOLVED = new Set([
  2304, // Cannot find name 'X'.
  2552, // Cannot find name 'X'. Did you mean 'Y'?
  2503, // Cannot find namespace 'X'.
  2580, // Cannot find name 'X'. Do you need to install type definitions for node?
  2581,
  2582,
  2583, // Cannot find name 'X'. Do you need to change your target library?
  2584,
  2693, // 'X' only refers to a type, but is being used as a value here.
  2749 // 'X' refers to a value, but is being used as a type here.
])

/**
 * Type-checks each block on its own, as a module in docs/snippets (so `effect-session` resolves as in
 * the snippet files), with lib ES2022 and Node's types, and reports every name a block uses without
 * declaring or importing it. Other errors are left to `npm run check` on the snippet files.
 */
export const checkImports = (blocks: ReadonlyArray<Block>): ReadonlyArray<Problem> => {
  if (blocks.length === 0) return []
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
    }
  })
  if (config === undefined) throw new Error("tsconfig.json could not be read")
  const options: ts.CompilerOptions = {
    ...config.options,
    lib: ["lib.es2022.d.ts"], // no DOM: the guide's recommended tsconfig has none either
    types: ["node"],
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    moduleDetection: ts.ModuleDetectionKind.Force // a block without imports is still a module of its own
  }
  const files = new Map(blocks.map((b, i) => [path.join(snippetsDir, `.docs-block-${i}.ts`), b] as const))
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  const fileExists = host.fileExists.bind(host)
  const readFile = host.readFile.bind(host)
  host.fileExists = (f) => files.has(path.resolve(f)) || fileExists(f)
  host.readFile = (f) => files.get(path.resolve(f))?.code ?? readFile(f)
  host.getSourceFile = (f, language, onError, shouldCreate) => {
    const block = files.get(path.resolve(f))
    return block !== undefined
      ? ts.createSourceFile(f, block.code, language, true, ts.ScriptKind.TS)
      : getSourceFile(f, language, onError, shouldCreate)
  }
  const program = ts.createProgram([...files.keys()], options, host)
  const problems: Array<Problem> = []
  for (const [file, block] of files) {
    const source = program.getSourceFile(file)!
    const seen = new Set<string>() // each missing name once per block, at its first use
    for (const d of program.getSemanticDiagnostics(source)) {
      if (!UNRESOLVED.has(d.code) || d.start === undefined) continue
      const name = source.text.slice(d.start, d.start + (d.length ?? 0))
      if (seen.has(name)) continue
      seen.add(name)
      const { line } = source.getLineAndCharacterOfPosition(d.start)
      problems.push({
        page: block.page,
        line: block.line + line,
        message: `${ts.flattenDiagnosticMessageText(d.messageText, " ")} (the block must import it)`
      })
    }
  }
  return problems
}

/** The guide's pages: docs/*.md (names within docs/). */
export const pages = (): ReadonlyArray<string> => fs.readdirSync(docsDir).filter((f) => f.endsWith(".md")).sort()

/** Every page whose TypeScript blocks are snippets, relative to the repository: README.md and docs/*.md. */
export const snippetPages = (): ReadonlyArray<string> => ["README.md", ...pages().map((p) => `docs/${p}`)]

/** All problems of all pages: blocks that differ or have no marker, and names used without an import. */
export const checkAll = (check: boolean): ReadonlyArray<Problem> => {
  const results = snippetPages().map((page) => processPageBlocks(page, check))
  return [...results.flatMap((r) => r.problems), ...checkImports(results.flatMap((r) => r.blocks))]
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const check = process.argv.includes("--check")
  const problems = checkAll(check)
  for (const p of problems) console.error(`${p.page}:${p.line}: ${p.message}`)
  if (problems.length > 0) process.exit(1)
  console.log(
    check
      ? "docs: every TypeScript block matches its snippet and imports what it uses"
      : "docs: blocks rewritten from the snippets"
  )
}
