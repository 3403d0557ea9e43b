/**
 * Pack and install: what a user gets from `npm install effect-session`.
 *
 * Builds the library (`npm run build`), packs it (`npm pack`), installs the tarball into a fresh
 * temporary project together with only `effect`, `@effect/platform`, `@effect/platform-node` (and
 * `typescript` + `@types/node` for the type check), at the versions this repository pins, from the npm
 * registry (`--prefer-offline`: the npm cache that `npm ci` filled answers most of it). Then:
 *
 * - the tarball holds the build, the sources its source maps point at, the guide (docs/*.md), the
 *   examples and the benchmark results the README links to, and nothing else of the repo;
 * - its package.json has `keywords` and `files`; every relative link of its Markdown files (README.md,
 *   docs/*.md, ...) points at a file in the tarball: the package stands alone (there is no public
 *   repository URL to link to, so `repository`, `homepage` and `bugs` are left unset);
 * - a small TypeScript server that uses `HttpSession.middleware` and the memory store type-checks
 *   with `tsc` (strict, `exactOptionalPropertyTypes`, no `skipLibCheck`), compiles, runs with node,
 *   and counts up over two requests that carry the session cookie;
 * - `import("effect-session")` and every driver-free subpath load with no `@effect/sql`, `ioredis`
 *   or `better-sqlite3` installed, and `effect-session/internal/*` is blocked.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { spawnUntil } from "./utils/spawn.js"

const exec = promisify(execFile)
const root = path.resolve(import.meta.dirname, "..")
const rootPackage = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly devDependencies: Record<string, string>
  readonly exports: Record<string, unknown>
}

/**
 * The relative links of a Markdown file at `from` (a path inside the package) that point at no file
 * of the package (`packaged`: its file paths; a link to a directory needs a file in it). Links in
 * code blocks and spans are not links; `http:`, `https:`, `mailto:` ones are not checked here.
 */
export const deadLinks = (markdown: string, from: string, packaged: ReadonlySet<string>): ReadonlyArray<string> => {
  const text = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "")
  const dead: Array<string> = []
  for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1]!
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue
    const rel = decodeURIComponent(target.split("#")[0]!)
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(from), rel)).replace(/\/$/, "")
    const found = !resolved.startsWith("../") &&
      (packaged.has(resolved) || [...packaged].some((f) => f.startsWith(`${resolved}/`)))
    if (!found) dead.push(`${from}: ${target}`)
  }
  return dead
}

// `npm test` puts npm_* variables (npm_config_local_prefix, ...) in the environment; a child npm
// would take them as its own configuration and act on this repository instead of the temp project.
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")))

const run = async (command: string, args: ReadonlyArray<string>, cwd: string, timeout = 240_000) => {
  try {
    return await exec(command, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${command} ${args.join(" ")} failed in ${cwd}:\n${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`
    )
  }
}

const pinned = (name: string): string => {
  const version = rootPackage.devDependencies[name]
  if (version === undefined) throw new Error(`${name} is not a devDependency of effect-session`)
  return `${name}@${version}`
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-session-pack-"))
// KEEP_PACK_TEMP=1 keeps the temp project for a look after the run
afterAll(() =>
  process.env.KEEP_PACK_TEMP ? console.log(`kept ${temp}`) : fs.rmSync(temp, { recursive: true, force: true })
)

const serverSource = `import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import { createServer } from "node:http"

const Count = Session.key("count", Schema.Number)

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/counter", Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(String(n)))),
  HttpRouter.post(
    "/counter",
    Effect.gen(function*() {
      const n = yield* Session.modify(Count, (current) => Option.getOrElse(current, () => 0) + 1)
      return HttpServerResponse.text(String(n))
    })
  ),
  HttpSession.middleware
)

const SessionLive = HttpSession.layer({
  secrets: [Redacted.make("a test secret that is at least 32 bytes long")],
  cookie: { secure: false }
}).pipe(Layer.provide(SessionStore.layerMemory()))

HttpServer.serve(app).pipe(
  HttpServer.withLogAddress,
  Layer.provide(SessionLive),
  Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
  Layer.launch,
  NodeRuntime.runMain
)
`

// every public module that needs no optional driver, by type and by value; internals are blocked
const typesSource = `import type { SessionStateError } from "effect-session/SessionError"
import type { SessionManagerService } from "effect-session/SessionManager"
import type { SessionStoreService } from "effect-session/SessionStore"
import type { Options } from "effect-session/HttpSession"
import type { FileSystemStoreOptions } from "effect-session/SessionStore/FileSystem"
import * as Session from "effect-session/Session"
import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
// @ts-expect-error internal modules are not exported
import type * as Internal from "effect-session/internal/session"

export type All = [SessionStateError, SessionManagerService, SessionStoreService, Options, FileSystemStoreOptions]
export const modules = [Session.key, SealedCookie]
export type Blocked = typeof Internal
`

const importCheckSource = `const modules = ${
  JSON.stringify(
    Object.keys(rootPackage.exports)
      .filter((k) => !k.includes("*") && k !== "./package.json" && !/\/(Sql|Redis)$/.test(k))
      .map((k) => (k === "." ? "effect-session" : `effect-session/${k.slice(2)}`))
  )
}
const loaded = {}
for (const m of modules) loaded[m] = Object.keys(await import(m)).sort()
let internal = "loaded"
try {
  await import("effect-session/internal/session.js")
} catch (error) {
  internal = error.code
}
console.log(JSON.stringify({ loaded, internal }))
`

describe("links in the package's Markdown", () => {
  it("a relative link resolves only to a file in the package; a dead one is reported", () => {
    const packaged = new Set(["README.md", "docs/README.md", "docs/expiry.md", "examples/workflow.ts", "LICENSE"])
    const readme = [
      "[guide](docs/README.md) [expiry](docs/expiry.md#two-deadlines) [example](examples/workflow.ts)",
      "[folder](examples/) [web](https://effect.website) [here](#top) [license](./LICENSE)",
      "[missing](docs/missing.md) [outside](../elsewhere.md) [api](docs/api/index.html)",
      "`[not a link](nowhere.md)`",
      "```md\n[in a code block](nowhere.md)\n```"
    ].join("\n")
    expect(deadLinks(readme, "README.md", packaged)).toEqual([
      "README.md: docs/missing.md",
      "README.md: ../elsewhere.md",
      "README.md: docs/api/index.html"
    ])
    expect(deadLinks("[back](../README.md) [up](../../README.md)", "docs/expiry.md", packaged)).toEqual([
      "docs/expiry.md: ../../README.md"
    ])
  })
})

describe("package.json exports", () => {
  it("has one subpath per public module (src/*.ts, src/{SessionStore,HttpSession}/*.ts), types first, internals blocked", () => {
    const modules = [
      ...fs.readdirSync(path.join(root, "src")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)),
      ...["SessionStore", "HttpSession"].flatMap((dir) =>
        fs.readdirSync(path.join(root, "src", dir)).filter((f) => f.endsWith(".ts")).map((f) =>
          `${dir}/${f.slice(0, -3)}`
        )
      )
    ]
    const expected = Object.fromEntries(
      modules.map((m) => [m === "index" ? "." : `./${m}`, { types: `./dist/${m}.d.ts`, import: `./dist/${m}.js` }])
    )
    const { "./internal/*": internal, "./package.json": _pkg, ...subpaths } = rootPackage.exports
    expect(subpaths).toEqual(expected)
    for (const value of Object.values(subpaths)) expect(Object.keys(value as object)[0]).toBe("types")
    expect(internal).toBeNull()
  })
})

describe("npm pack + install into a fresh project", () => {
  it("type-checks, runs a server with a session, and needs no optional driver", { timeout: 600_000 }, async () => {
    // 1. build and pack
    await run("npm", ["run", "build"], root)
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", temp], root)
    const [info] = JSON.parse(packed.stdout) as Array<
      { readonly filename: string; readonly files: ReadonlyArray<{ readonly path: string }> }
    >
    const files = info!.files.map((f) => f.path)
    const tarball = path.join(temp, info!.filename)
    expect(files).toEqual(expect.arrayContaining([
      "package.json",
      "LICENSE",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/index.js.map",
      "dist/index.d.ts.map",
      "dist/HttpSession.js",
      "dist/SessionStore/Redis.js",
      "src/index.ts"
    ]))
    expect(files).toEqual(expect.arrayContaining([
      "README.md",
      "docs/README.md",
      "docs/getting-started.md",
      "examples/workflow.ts",
      "bench/results/latest.md"
    ]))
    expect(
      files.filter((f) =>
        !/^(dist|src)\//.test(f) &&
        !/^[A-Z]+\.md$|^LICENSE$|^package\.json$/.test(f) &&
        !/^docs\/[\w-]+\.md$|^examples\/[\w-]+\.ts$|^bench\/README\.md$|^bench\/results\/[\w-]+\.md$/.test(f)
      )
    ).toEqual([]) // no docs/api, no docs/snippets, no tests, no scripts

    // the package stands alone: metadata, and every relative link of its Markdown leads into it
    // (read from the tarball itself)
    const unpacked = path.join(temp, "unpacked")
    fs.mkdirSync(unpacked)
    await run("tar", ["-xzf", tarball, "-C", unpacked], temp)
    const inTarball = (f: string) => fs.readFileSync(path.join(unpacked, "package", f), "utf8")
    const packaged = new Set(files)
    const packedPackage = JSON.parse(inTarball("package.json")) as {
      readonly keywords?: ReadonlyArray<string>
      readonly files?: ReadonlyArray<string>
    }
    expect(packedPackage.keywords).toEqual(expect.arrayContaining(["effect", "session", "express-session"]))
    expect(packedPackage.files).toEqual(expect.arrayContaining(["dist", "src", "docs/*.md", "examples"]))
    const markdown = files.filter((f) => f.endsWith(".md") && !/^(dist|src)\//.test(f))
    expect(markdown).toEqual(expect.arrayContaining(["README.md", "docs/README.md", "docs/from-express-session.md"]))
    const dead = markdown.flatMap((f) => deadLinks(inTarball(f), f, packaged))
    expect(dead).toEqual([])
    for (const key of Object.keys(rootPackage.exports).filter((k) => !k.includes("*") && k !== "./package.json")) {
      const name = key === "." ? "index" : key.slice(2)
      expect(files, `export ${key}`).toEqual(expect.arrayContaining([`dist/${name}.js`, `dist/${name}.d.ts`]))
    }

    // 2. a fresh project: the tarball and the Effect packages only
    const project = path.join(temp, "app")
    fs.mkdirSync(path.join(project, "src"), { recursive: true })
    fs.writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "effect-session-pack-test", private: true, type: "module" }, null, 2)
    )
    await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--ignore-scripts",
        tarball,
        pinned("effect"),
        pinned("@effect/platform"),
        pinned("@effect/platform-node"),
        pinned("typescript"),
        pinned("@types/node")
      ],
      project,
      480_000
    )

    // 3. type-check and compile a small server
    fs.writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            lib: ["ES2022"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            skipLibCheck: true,
            types: ["node"],
            outDir: "build",
            rootDir: "src"
          },
          include: ["src"]
        },
        null,
        2
      )
    )
    fs.writeFileSync(path.join(project, "src", "server.ts"), serverSource)
    fs.writeFileSync(path.join(project, "src", "types.ts"), typesSource)
    const tsc = path.join(project, "node_modules", ".bin", "tsc")
    await run(tsc, ["-p", "."], project)
    // and effect-session's own declaration files have no error (Effect's need DOM and @types/ws, which
    // a Node project does not have: only errors in effect-session's files count)
    fs.writeFileSync(
      path.join(project, "tsconfig.libcheck.json"),
      JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { skipLibCheck: false, noEmit: true } })
    )
    const libCheck = await exec(tsc, ["-p", "tsconfig.libcheck.json"], { cwd: project, env: cleanEnv() }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string }) => error.stdout ?? ""
    )
    expect(libCheck.split("\n").filter((line) => line.includes("effect-session/"))).toEqual([])
    expect(libCheck).not.toMatch(/^src\//m)

    // 4. run it and count up over two requests that carry the cookie
    const server = await spawnUntil(process.execPath, [path.join(project, "build", "server.js")], {
      cwd: project,
      env: cleanEnv(),
      timeoutMs: 30_000
    })
    try {
      const base = server.groups[0]!
      const first = await fetch(`${base}/counter`, { method: "POST" })
      expect(await first.text()).toBe("1")
      const setCookie = first.headers.getSetCookie()
      expect(setCookie).toHaveLength(1)
      expect(setCookie[0]).toMatch(/^session=[^;]+;/)
      expect(setCookie[0]).toMatch(/HttpOnly/i)
      const cookie = setCookie[0]!.split(";")[0]!
      const second = await fetch(`${base}/counter`, { method: "POST", headers: { cookie } })
      expect(await second.text()).toBe("2")
      const read = await fetch(`${base}/counter`, { headers: { cookie } })
      expect(await read.text()).toBe("2")
      const stranger = await fetch(`${base}/counter`)
      expect(await stranger.text()).toBe("0")
    } finally {
      await server.stop()
    }

    // 5. no optional driver: @effect/platform-node brings @effect/sql in as its own peer, so take it
    //    out; the root and every driver-free subpath must still load
    fs.rmSync(path.join(project, "node_modules", "@effect", "sql"), { recursive: true, force: true })
    for (const driver of ["@effect/sql", "ioredis", "better-sqlite3"]) {
      expect(fs.existsSync(path.join(project, "node_modules", driver)), driver).toBe(false)
    }
    fs.writeFileSync(path.join(project, "check-imports.mjs"), importCheckSource)
    const checked = await run(process.execPath, ["check-imports.mjs"], project)
    const result = JSON.parse(checked.stdout) as {
      readonly loaded: Record<string, ReadonlyArray<string>>
      readonly internal: string
    }
    // the root is the barrel of src/index.ts
    const barrel = Array.from(
      fs.readFileSync(path.join(root, "src", "index.ts"), "utf8").matchAll(/^export \* as (\w+) from/gm),
      (m) => m[1]!
    ).sort()
    expect(barrel.length).toBeGreaterThan(0)
    expect(result.loaded["effect-session"]).toEqual(barrel)
    expect(result.loaded["effect-session/Session"]).toEqual(expect.arrayContaining(["transaction", "key", "layer"]))
    expect(result.loaded["effect-session/HttpSession"]).toEqual(expect.arrayContaining(["middleware", "layer"]))
    expect(result.internal).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
  })
})
