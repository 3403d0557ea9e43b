/**
 * `npx tsx bench/ops.ts`: what a request costs, in numbers that a busy machine does not blur.
 *
 * The routes of the throughput benchmark (bare, untouched, read, counter; memory store) run in this
 * process through `HttpApp.toWebHandlerLayer` (no socket), one request at a time, as compiled
 * JavaScript (bench/build.ts). For each route:
 *
 * - Effect operations per request and fibers started per request, counted by a `Supervisor` with
 *   op supervision on (deterministic); the ops are grouped by the code whose function the op runs
 *   (a continuation, a sync thunk...): effect-session's src/, effect core, @effect/platform, or
 *   none (ops without a function: succeed, fail, a context tag...);
 * - CPU µs per request (process.cpuUsage, supervision off), median of batches: the added µs of a
 *   route over bare are what the session layer costs; toWebHandler's own Request/Response objects
 *   make bare slower here than over a socket, so compare differences, not ratios.
 *
 * Flags: `--requests=N` (per batch, default 2000), `--top=N` (effect-session functions listed).
 */
import { HttpApp } from "@effect/platform"
import { Effect, Layer, Redacted, RuntimeFlags, Supervisor } from "effect"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as HttpSession from "../src/HttpSession.js"
import * as SessionStore from "../src/SessionStore.js"
import { bareRouter, sessionRouter } from "./servers/routes.js"

const ROOT = path.resolve(import.meta.dirname, import.meta.url.endsWith(".ts") ? ".." : "../../..")
const argv = process.argv.slice(2)
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1]
const REQUESTS = Number(flag("requests") ?? 2000)
const TOP = Number(flag("top") ?? 15)

// ---------------------------------------------------------------------------------------------
// counting ops
// ---------------------------------------------------------------------------------------------

const sources = (() => {
  // the compiled files this process runs: to tell whose function an op runs
  const dir = path.join(ROOT, ".tmp", "bench-build", "src")
  const files = spawnSync("find", [dir, "-name", "*.js"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean)
  return files.map((file) => ({ file: path.relative(dir, file), text: readFileSync(file, "utf8") }))
})()

const categoryOf = new Map<string, string>()
const snippetOf = new Map<string, string>()
const categorize = (fnText: string): string => {
  let category = categoryOf.get(fnText)
  if (category === undefined) {
    const ours = sources.find((s) => s.text.includes(fnText))
    if (ours !== undefined) {
      const line = ours.text.slice(0, ours.text.indexOf(fnText)).split("\n").length
      category = `src/${ours.file}:${line}`
      snippetOf.set(category, fnText.replace(/\s+/g, " ").slice(0, 70))
    } else {
      category = "elsewhere"
    }
    categoryOf.set(fnText, category)
  }
  return category
}

class OpCounter extends Supervisor.AbstractSupervisor<void> {
  counting = false
  ops = 0
  fibers = 0
  byOp = new Map<string, number>()
  byCode = new Map<string, number>()
  value = Effect.void
  override onStart() {
    if (this.counting) this.fibers++
  }
  override onEffect(_fiber: unknown, effect: any) {
    if (!this.counting) return
    this.ops++
    const op = String(effect?._op ?? "?")
    this.byOp.set(op, (this.byOp.get(op) ?? 0) + 1)
    const fn = [effect?.effect_instruction_i1, effect?.effect_instruction_i0].find((f) => typeof f === "function")
    const where = fn === undefined ? "no function" : categorize(Function.prototype.toString.call(fn))
    this.byCode.set(where, (this.byCode.get(where) ?? 0) + 1)
  }
  reset() {
    this.ops = 0
    this.fibers = 0
    this.byOp.clear()
    this.byCode.clear()
  }
}

// ---------------------------------------------------------------------------------------------
// the apps
// ---------------------------------------------------------------------------------------------

const sessionLayer = HttpSession.layer({
  secrets: [Redacted.make("benchmark secret: thirty-two bytes or more, fixed")],
  cookie: { secure: false }
}).pipe(Layer.provideMerge(SessionStore.layerMemory({ maxEntries: 1_000_000 })))

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

const measure = async (
  name: string,
  app: HttpApp.Default<any, any>,
  layer: Layer.Layer<any>,
  method: string,
  route: string
) => {
  const counter = new OpCounter()
  const supervised = HttpApp.toWebHandlerLayer(
    app,
    Layer.mergeAll(layer, Supervisor.addSupervisor(counter), RuntimeFlags.enableOpSupervision)
  )
  const plain = HttpApp.toWebHandlerLayer(app, layer)
  const run = async (handler: typeof plain.handler, cookie: string | undefined, n: number) => {
    for (let i = 0; i < n; i++) {
      const response = await handler(
        new Request(`http://localhost${route}`, { method, headers: cookie === undefined ? {} : { cookie } })
      )
      await response.arrayBuffer()
    }
  }
  const session = async (handler: typeof plain.handler) => {
    const response = await handler(new Request("http://localhost/counter", { method: "POST" }))
    await response.arrayBuffer()
    return response.headers.getSetCookie()[0]?.split(";")[0] ?? `session=${"A".repeat(43)}.${"B".repeat(43)}`
  }

  // ops, deterministic
  const c1 = await session(supervised.handler)
  await run(supervised.handler, c1, 200)
  counter.counting = true
  await run(supervised.handler, c1, 500)
  counter.counting = false
  const per = (n: number) => n / 500

  // CPU time, supervision off
  const c2 = await session(plain.handler)
  await run(plain.handler, c2, REQUESTS * 2)
  const samples: Array<number> = []
  for (let b = 0; b < 5; b++) {
    const start = process.cpuUsage()
    await run(plain.handler, c2, REQUESTS)
    const used = process.cpuUsage(start)
    samples.push((used.user + used.system) / REQUESTS)
  }
  await supervised.dispose()
  await plain.dispose()
  return {
    name,
    ops: per(counter.ops),
    fibers: per(counter.fibers),
    byOp: new Map(Array.from(counter.byOp, ([k, v]) => [k, per(v)])),
    byCode: new Map(Array.from(counter.byCode, ([k, v]) => [k, per(v)])),
    cpuUs: median(samples)
  }
}

const main = async () => {
  if (import.meta.url.endsWith(".ts")) {
    const { build, compiled } = await import("./build.js")
    build()
    const child = spawnSync(process.execPath, [compiled("bench/ops.ts"), ...argv], { stdio: "inherit", cwd: ROOT })
    process.exit(child.status ?? 1)
  }
  const rows = [
    await measure("bare", bareRouter, Layer.empty as Layer.Layer<any>, "POST", "/counter"),
    await measure("untouched", sessionRouter, sessionLayer, "GET", "/untouched"),
    await measure("read", sessionRouter, sessionLayer, "GET", "/read"),
    await measure("counter", sessionRouter, sessionLayer, "POST", "/counter")
  ]
  const bare = rows[0]!
  console.log(`# Effect ops and CPU per request (npx tsx bench/ops.ts)\n`)
  const { codeState } = await import("./build.js")
  console.log(
    `${new Date().toISOString()}; code ${codeState()}; ${os.cpus()[0]?.model}, Node ${process.version}; load average ${
      os.loadavg().map((l) => l.toFixed(2)).join(" ")
    }\n`
  )
  console.log("| route | Effect ops/req | added ops | fibers/req | ops in src/ | CPU µs/req | added µs |")
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  for (const r of rows) {
    const ours = Array.from(r.byCode).filter(([k]) => k.startsWith("src/")).reduce((n, [, v]) => n + v, 0)
    console.log(
      `| ${r.name} | ${r.ops.toFixed(0)} | ${(r.ops - bare.ops).toFixed(0)} | ${r.fibers.toFixed(1)} | ${
        ours.toFixed(0)
      } | ${r.cpuUs.toFixed(1)} | ${(r.cpuUs - bare.cpuUs).toFixed(1)} |`
    )
  }
  const ops = Array.from(new Set(rows.flatMap((r) => Array.from(r.byOp.keys()))))
  console.log(`\nOps by kind (per request):\n`)
  console.log(`| op | ${rows.map((r) => r.name).join(" | ")} |`)
  console.log(`|---|${rows.map(() => "---:").join("|")}|`)
  for (const op of ops.sort((a, b) => (rows[3]!.byOp.get(b) ?? 0) - (rows[3]!.byOp.get(a) ?? 0))) {
    console.log(`| ${op} | ${rows.map((r) => (r.byOp.get(op) ?? 0).toFixed(1)).join(" | ")} |`)
  }
  const counter = rows[3]!
  console.log(`\nCounter route: ops running effect-session's functions, by function (per request, top ${TOP}):\n`)
  console.log("| ops/req | where (compiled line) | code |")
  console.log("|---:|---|---|")
  for (
    const [k, v] of Array.from(counter.byCode).filter(([k]) => k.startsWith("src/")).sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
  ) {
    console.log(`| ${v.toFixed(1)} | ${k} | \`${(snippetOf.get(k) ?? "").replace(/\|/g, "\\|")}\` |`)
  }
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
