/**
 * `npx tsx bench/ops.ts`: what a request costs, in numbers that a busy machine does not blur.
 *
 * The routes of the throughput benchmark (bare, the floor's untouched and counter, and the session's
 * untouched, read and counter on the memory store; bench/servers/routes.ts), the bare router with
 * the session layer's context (its one service, the configuration) in its own (what a bigger
 * context costs per request through the platform's and the router's copies of it, before any
 * middleware runs), and the same
 * with a pass-through middleware (the least any middleware costs there), run in process, one
 * request at a time, as compiled JavaScript (bench/build.ts). For each route:
 *
 * - Effect operations per request and fibers started per request, counted by a `Supervisor` with
 *   op supervision on (deterministic), through `HttpApp.toWebHandlerLayer`; the ops are grouped by
 *   the code whose function the op runs (a continuation, a sync thunk...): effect-session's src/,
 *   effect core, @effect/platform, or none (ops without a function: succeed, fail, a context tag...);
 * - CPU µs per request (process.cpuUsage, supervision off), each route in a process of its own,
 *   the lowest of 5 such runs (`--rounds`), each the median of 5 batches (on a shared machine,
 *   interference only adds CPU time; the highest run is shown too): the app runs on its own runtime against one
 *   request object made once, so that no socket and no per-request Request/Response conversion
 *   blurs the figure (about ±0.3 µs between runs), uninterruptibly as a server runs it. The server's own
 *   work (HTTP parsing, its span, the socket) is not in it: compare the added µs, not ratios;
 * - the CPU µs each route adds over bare measured side by side in one process (`--paired=<route>`:
 *   batches of the two alternate, ABBA, and the median of the differences is kept), the median of
 *   `--paired-runs` such processes (default 7).
 *
 * Every measuring process runs with V8's `--single-threaded-gc`. `process.cpuUsage` counts all the
 * threads of a process, and with a second core free V8 runs its garbage collection in parallel
 * there, at a higher total CPU cost that depends on what else the machine runs. Without the flag a
 * process lands in one of two states (bare Effect here: about 11 or about 16-17 µs a request), and a
 * route's added µs scale with it (the untouched route: about 0.55 or about 0.8).
 *
 * Flags: `--requests=N` (per batch, default 2000), `--rounds=N` (runs per route, default 5),
 * `--top=N` (effect-session functions listed);
 * `--cpu=<route>` and `--paired=<route>` are how the script runs one route's CPU measurements in a
 * process of its own.
 */
import { HttpApp, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Runtime, RuntimeFlags, Supervisor } from "effect"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as HttpSession from "../src/HttpSession.js"
import * as SessionStore from "../src/SessionStore.js"
import { bareRouter, floorLayer, floorRouter, sessionRouter } from "./servers/routes.js"

const ROOT = path.resolve(import.meta.dirname, import.meta.url.endsWith(".ts") ? ".." : "../../..")
const argv = process.argv.slice(2)
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1]
const REQUESTS = Number(flag("requests") ?? 2000)
const TOP = Number(flag("top") ?? 15)
const ROUNDS = Number(flag("rounds") ?? 5)
const PAIRED_RUNS = Number(flag("paired-runs") ?? 7)

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
}).pipe(Layer.provide(SessionStore.layerMemory({ maxEntries: 1_000_000 })), Layer.orDie)

/**
 * The least any middleware costs: three ops, one to find the request (`withFiberRuntime`, as the
 * session's middleware does), one to run after the handler and one to return its response, doing
 * nothing else. With the session layer's one service in the context, it is what an untouched route
 * would cost if the session middleware did no work of its own.
 */
const passThrough = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.withFiberRuntime(() =>
    Effect.matchCauseEffect(app, {
      onSuccess: (response) => Effect.succeed(response),
      onFailure: (cause) => Effect.failCause(cause)
    })
  )

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

interface Route {
  readonly name: string
  readonly app: HttpApp.Default<any, any>
  readonly layer: Layer.Layer<any>
  readonly method: string
  readonly path: string
}

const ROUTES: ReadonlyArray<Route> = [
  { name: "bare", app: bareRouter, layer: Layer.empty as Layer.Layer<any>, method: "POST", path: "/counter" },
  {
    name: "floor untouched",
    app: floorRouter,
    layer: floorLayer as Layer.Layer<any>,
    method: "GET",
    path: "/untouched"
  },
  { name: "floor counter", app: floorRouter, layer: floorLayer as Layer.Layer<any>, method: "POST", path: "/counter" },
  { name: "bare, session layer in context", app: bareRouter, layer: sessionLayer, method: "POST", path: "/counter" },
  {
    name: "pass-through middleware, session layer in context",
    app: passThrough(bareRouter),
    layer: sessionLayer,
    method: "GET",
    path: "/untouched"
  },
  { name: "untouched", app: sessionRouter, layer: sessionLayer, method: "GET", path: "/untouched" },
  { name: "read", app: sessionRouter, layer: sessionLayer, method: "GET", path: "/read" },
  { name: "counter", app: sessionRouter, layer: sessionLayer, method: "POST", path: "/counter" }
]

/** Effect ops of a route, counted by a supervisor (deterministic). */
const countOps = async ({ app, layer, method, name, path: route }: Route) => {
  const counter = new OpCounter()
  const supervised = HttpApp.toWebHandlerLayer(
    app,
    Layer.mergeAll(layer, Supervisor.addSupervisor(counter), RuntimeFlags.enableOpSupervision)
  )
  const run = async (cookie: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const response = await supervised.handler(
        new Request(`http://localhost${route}`, { method, headers: { cookie } })
      )
      await response.arrayBuffer()
    }
  }
  const first = await supervised.handler(new Request("http://localhost/counter", { method: "POST" }))
  await first.arrayBuffer()
  const cookie = first.headers.getSetCookie()[0]?.split(";")[0] ?? `session=${"A".repeat(43)}.${"B".repeat(43)}`
  await run(cookie, 200)
  counter.counting = true
  await run(cookie, 500)
  counter.counting = false
  await supervised.dispose()
  const per = (n: number) => n / 500
  return {
    name,
    ops: per(counter.ops),
    fibers: per(counter.fibers),
    byOp: new Map(Array.from(counter.byOp, ([k, v]) => [k, per(v)])),
    byCode: new Map(Array.from(counter.byCode, ([k, v]) => [k, per(v)]))
  }
}

/** A route ready to time: its app on its own runtime, against one request object made once. */
const timed = async ({ app, layer, method, name, path: route }: Route) => {
  const runtime = ManagedRuntime.make(layer)
  const fork = Runtime.runFork(await runtime.runtime())
  const once = (request: HttpServerRequest.HttpServerRequest) =>
    new Promise<Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>>((resolve) =>
      // uninterruptible, as a server runs its app (HttpApp.toHandled)
      fork(Effect.uninterruptible(Effect.provideService(app, HttpServerRequest.HttpServerRequest, request)))
        .addObserver(resolve)
    )
  const made = await once(HttpServerRequest.fromWeb(new Request("http://localhost/counter", { method: "POST" })))
  const sessionCookie = Exit.isSuccess(made) ? Object.values(made.value.cookies.cookies)[0] : undefined
  const request = HttpServerRequest.fromWeb(
    new Request(`http://localhost${route}`, {
      method,
      headers: {
        cookie: sessionCookie === undefined
          ? `session=${"A".repeat(43)}.${"B".repeat(43)}`
          : `session=${sessionCookie.value}`
      }
    })
  )
  const loop = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const exit = await once(request)
      if (!Exit.isSuccess(exit) || exit.value.status !== 200) throw new Error(`${name}: the request failed`)
    }
  }
  /** CPU µs per request over one batch of `n` requests. */
  const batch = async (n: number) => {
    const start = process.cpuUsage()
    await loop(n)
    const used = process.cpuUsage(start)
    return (used.user + used.system) / n
  }
  return { loop, batch, dispose: () => runtime.dispose() }
}

/**
 * CPU µs per request of a route, supervision off, in a process of its own (run with `--cpu=name`):
 * the app runs on its own runtime against one request object made once (with the session cookie
 * of a first request), so that only the app's own work is timed. Median of 5 batches.
 */
const cpuOf = async (r: Route): Promise<number> => {
  const t = await timed(r)
  await t.loop(REQUESTS * 5)
  const samples: Array<number> = []
  for (let b = 0; b < 5; b++) samples.push(await t.batch(REQUESTS))
  await t.dispose()
  return median(samples)
}

/**
 * The CPU µs a route adds over bare, measured side by side in one process (run with
 * `--paired=name`): batches of bare and of the route alternate (ABBA, so that a drift of the
 * machine weighs on both alike), and the median of the PAIRS differences is kept. Both run on the
 * same JIT state, so this is the figure that a busy machine blurs least.
 */
const PAIRS = 24
const pairedOf = async (r: Route): Promise<{ added: number; bare: number }> => {
  const bare = await timed(ROUTES[0]!)
  const route = await timed(r)
  await bare.loop(REQUESTS * 3)
  await route.loop(REQUESTS * 3)
  const differences: Array<number> = []
  const bares: Array<number> = []
  for (let p = 0; p < PAIRS; p++) {
    if (p % 2 === 0) {
      const b = await bare.batch(REQUESTS)
      bares.push(b)
      differences.push((await route.batch(REQUESTS)) - b)
    } else {
      const a = await route.batch(REQUESTS)
      const b = await bare.batch(REQUESTS)
      bares.push(b)
      differences.push(a - b)
    }
  }
  await bare.dispose()
  await route.dispose()
  return { added: median(differences), bare: median(bares) }
}

/** How every measuring process runs (see the top of this file). */
const measuring = (args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, ["--single-threaded-gc", import.meta.filename, ...args, `--requests=${REQUESTS}`], {
    encoding: "utf8",
    cwd: ROOT
  })

const main = async () => {
  if (import.meta.url.endsWith(".ts")) {
    const { build, compiled } = await import("./build.js")
    build()
    const child = spawnSync(process.execPath, [compiled("bench/ops.ts"), ...argv], { stdio: "inherit", cwd: ROOT })
    process.exit(child.status ?? 1)
  }
  const only = flag("cpu")
  if (only !== undefined) {
    console.log(`CPU ${await cpuOf(ROUTES.find((r) => r.name === only)!)}`)
    process.exit(0)
  }
  const pairedWith = flag("paired")
  if (pairedWith !== undefined) {
    const { added, bare } = await pairedOf(ROUTES.find((r) => r.name === pairedWith)!)
    console.log(`BARE ${bare}\nADDED ${added}`)
    process.exit(0)
  }
  // CPU: each route in a process of its own (no JIT state shared with the other routes), ROUNDS
  // rounds in turn, the lowest kept: on a shared machine interference only ever adds CPU time
  const cpu = new Map<string, Array<number>>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of ROUTES) {
      const child = measuring([`--cpu=${r.name}`])
      const figure = /^CPU (\S+)/m.exec(child.stdout)?.[1]
      if (figure === undefined) throw new Error(`${r.name}: ${child.stderr}`)
      cpu.set(r.name, [...(cpu.get(r.name) ?? []), Number(figure)])
    }
  }
  // the same added µs measured side by side with bare in one process, PAIRED_RUNS processes each
  const paired = new Map<string, Array<number>>()
  const pairedBare: Array<number> = []
  for (let round = 0; round < PAIRED_RUNS; round++) {
    for (const r of ROUTES.slice(1)) {
      const child = measuring([`--paired=${r.name}`])
      const figure = /^ADDED (\S+)/m.exec(child.stdout)?.[1]
      if (figure === undefined) throw new Error(`${r.name}: ${child.stderr}`)
      paired.set(r.name, [...(paired.get(r.name) ?? []), Number(figure)])
      pairedBare.push(Number(/^BARE (\S+)/m.exec(child.stdout)?.[1]))
    }
  }
  const rows = []
  for (const r of ROUTES) {
    const runs = cpu.get(r.name)!
    const pairs = paired.get(r.name) ?? [0]
    rows.push({
      ...(await countOps(r)),
      cpuUs: Math.min(...runs),
      cpuMax: Math.max(...runs),
      paired: median(pairs),
      pairedMin: Math.min(...pairs),
      pairedMax: Math.max(...pairs)
    })
  }
  const bare = rows[0]!
  const counter = rows.find((r) => r.name === "counter")!
  console.log(`# Effect ops and CPU per request (npx tsx bench/ops.ts)\n`)
  const { codeState } = await import("./build.js")
  console.log(
    `${new Date().toISOString()}; code ${codeState()}; ${os.cpus()[0]?.model}, Node ${process.version}; load average ${
      os.loadavg().map((l) => l.toFixed(2)).join(" ")
    }; measured with --single-threaded-gc; bare in the side-by-side processes: median ${
      median(pairedBare).toFixed(1)
    } µs a request (${Math.min(...pairedBare).toFixed(1)} to ${Math.max(...pairedBare).toFixed(1)})\n`
  )
  console.log(
    `| route | Effect ops/req | added ops | fibers/req | ops in src/ | CPU µs/req (lowest of ${ROUNDS}) | added µs | highest run | added µs, paired with bare (median of ${PAIRED_RUNS}) | paired runs' range |`
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const r of rows) {
    const ours = Array.from(r.byCode).filter(([k]) => k.startsWith("src/")).reduce((n, [, v]) => n + v, 0)
    console.log(
      `| ${r.name} | ${r.ops.toFixed(0)} | ${(r.ops - bare.ops).toFixed(0)} | ${r.fibers.toFixed(1)} | ${
        ours.toFixed(0)
      } | ${r.cpuUs.toFixed(1)} | ${(r.cpuUs - bare.cpuUs).toFixed(1)} | ${r.cpuMax.toFixed(1)} | ${
        r === bare ? "" : r.paired.toFixed(2)
      } | ${r === bare ? "" : `${r.pairedMin.toFixed(2)} to ${r.pairedMax.toFixed(2)}`} |`
    )
  }
  const ops = Array.from(new Set(rows.flatMap((r) => Array.from(r.byOp.keys()))))
  console.log(`\nOps by kind (per request):\n`)
  console.log(`| op | ${rows.map((r) => r.name).join(" | ")} |`)
  console.log(`|---|${rows.map(() => "---:").join("|")}|`)
  for (const op of ops.sort((a, b) => (counter.byOp.get(b) ?? 0) - (counter.byOp.get(a) ?? 0))) {
    console.log(`| ${op} | ${rows.map((r) => (r.byOp.get(op) ?? 0).toFixed(1)).join(" | ")} |`)
  }
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
