/**
 * `npm run bench`: HTTP throughput and latency of each configuration, side by side in one run.
 *
 * Each configuration is its own server process on 127.0.0.1 (a random free port), pinned to core 0
 * with `taskset`; wrk (1 thread, 10 connections) is pinned to core 1. Every server is warmed up,
 * then measured in several rounds; each round runs every configuration once, in an order rotated by
 * one from the round before, each run right after a run of the bare Effect server: a configuration's
 * ratio is taken against that bare run (seconds apart, not minutes, so that the changing load of a
 * shared machine cancels out), and the median over the rounds is shown. Results: a table on stdout, `bench/results/latest.md` and `bench/results/latest.json`.
 *
 * Flags: `--quick` (short runs), `--only=name,name` (a subset; the baseline is always added),
 * `--rounds=N`, `--duration=S`, `--warmup=S`, `--connections=N`.
 * Environment: `BENCH_REDIS_URL` uses that Redis instead of starting a private `redis-server`.
 *
 * wrk and redis-server come from Debian: when missing and running as root, they are installed
 * with apt-get.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

import { build, codeState, compiled } from "./build.js"

const ROOT = path.resolve(import.meta.dirname, "..")
const RESULTS = path.join(ROOT, "bench", "results")

// ---------------------------------------------------------------------------------------------
// configurations: adding one is one entry here
// ---------------------------------------------------------------------------------------------

type Needs = "redis" | "sqlite"

interface Config {
  readonly name: string
  readonly description: string
  /** Server entry (relative to bench/servers) and its argument. */
  readonly server: readonly [file: string, arg: string]
  readonly method: "GET" | "POST"
  readonly path: string
  /**
   * `session`: a session is made first (POST /counter) and its cookie sent by every connection.
   * `sessions`: SESSIONS sessions are made first, and requests take their cookies in turn.
   * `dummy`: a cookie header of the same length as a session cookie (bare servers).
   */
  readonly cookie: "session" | "sessions" | "dummy"
  /** Name of the bare server of the same framework, for the "vs own bare" column. */
  readonly bare?: string
  readonly needs?: Needs
  /** The route increments a counter: the final count tells how many updates were kept. */
  readonly counts?: boolean
}

const BASELINE = "effect-bare"
const SESSIONS = 100

const CONFIGS: ReadonlyArray<Config> = [
  {
    name: "effect-bare",
    description: "bare Effect router, POST /counter (constant), default tracing",
    server: ["effect.ts", "bare"],
    method: "POST",
    path: "/counter",
    cookie: "dummy"
  },
  {
    name: "effect-bare-notrace",
    description: "bare Effect router, tracing disabled (Layer.setTracerEnabled(false))",
    server: ["effect.ts", "bare-notrace"],
    method: "POST",
    path: "/counter",
    cookie: "dummy"
  },
  {
    name: "floor-untouched",
    description:
      "the floor of any session layer on Effect's services (bench/servers/routes.ts), request-keyed: one service in the context at start-up, per-request state bound to the request (a WeakMap), nothing provided per request; GET /untouched",
    server: ["effect.ts", "floor"],
    method: "GET",
    path: "/untouched",
    cookie: "dummy",
    bare: "effect-bare"
  },
  {
    name: "floor-counter",
    description:
      "the same floor, POST /counter: { count } from a plain Map by the cookie's value, written back after the handler; no signature, lock, snapshot, expiry or encoding",
    server: ["effect.ts", "floor"],
    method: "POST",
    path: "/counter",
    cookie: "dummy",
    bare: "effect-bare"
  },
  {
    name: "session-memory-untouched",
    description: "effect-session, memory store, GET /untouched (cookie sent, session never touched)",
    server: ["effect.ts", "memory"],
    method: "GET",
    path: "/untouched",
    cookie: "session",
    bare: "effect-bare"
  },
  {
    name: "session-memory-read",
    description: "effect-session, memory store, GET /read (reads count)",
    server: ["effect.ts", "memory"],
    method: "GET",
    path: "/read",
    cookie: "session",
    bare: "effect-bare"
  },
  {
    name: "session-memory-counter",
    description: "effect-session, memory store, POST /counter (read + write)",
    server: ["effect.ts", "memory"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "effect-bare",
    counts: true
  },
  {
    name: "session-memory-counter-notrace",
    description: "effect-session, memory store, POST /counter, tracing disabled",
    server: ["effect.ts", "memory-notrace"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "effect-bare-notrace",
    counts: true
  },
  {
    name: "session-memory-counter-100",
    description: `effect-session, memory store, POST /counter, ${SESSIONS} sessions taken in turn`,
    server: ["effect.ts", "memory"],
    method: "POST",
    path: "/counter",
    cookie: "sessions",
    bare: "effect-bare",
    counts: true
  },
  {
    name: "session-sqlite-counter",
    description: "effect-session, SQLite store (file, @effect/sql-sqlite-node), POST /counter",
    server: ["effect.ts", "sqlite"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "effect-bare",
    needs: "sqlite",
    counts: true
  },
  {
    name: "session-sqlite-counter-100",
    description: `effect-session, SQLite store, POST /counter, ${SESSIONS} sessions taken in turn`,
    server: ["effect.ts", "sqlite"],
    method: "POST",
    path: "/counter",
    cookie: "sessions",
    bare: "effect-bare",
    needs: "sqlite",
    counts: true
  },
  {
    name: "floor-redis-counter",
    description:
      "the floor with the count in Redis (ioredis): one GET before the handler, one SET after it, each an Effect.promise; no script, version check or expiry",
    server: ["effect.ts", "floor-redis"],
    method: "POST",
    path: "/counter",
    cookie: "dummy",
    bare: "effect-bare",
    needs: "redis"
  },
  {
    name: "session-redis-counter",
    description: "effect-session, Redis store (ioredis), POST /counter",
    server: ["effect.ts", "redis"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "effect-bare",
    needs: "redis",
    counts: true
  },
  {
    name: "session-redis-counter-100",
    description: `effect-session, Redis store, POST /counter, ${SESSIONS} sessions taken in turn`,
    server: ["effect.ts", "redis"],
    method: "POST",
    path: "/counter",
    cookie: "sessions",
    bare: "effect-bare",
    needs: "redis",
    counts: true
  },
  {
    name: "express-bare",
    description: "express 5, POST /counter (constant), no session",
    server: ["express.ts", "bare"],
    method: "POST",
    path: "/counter",
    cookie: "dummy"
  },
  {
    name: "express-session-memory",
    description: "express 5 + express-session MemoryStore, POST /counter",
    server: ["express.ts", "memory"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "express-bare",
    counts: true
  },
  {
    name: "express-session-redis",
    description: "express 5 + express-session + connect-redis (ioredis), POST /counter",
    server: ["express.ts", "redis"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "express-bare",
    needs: "redis",
    counts: true
  },
  {
    name: "fastify-bare",
    description: "fastify 5, POST /counter (constant), no session",
    server: ["fastify.ts", "bare"],
    method: "POST",
    path: "/counter",
    cookie: "dummy"
  },
  {
    name: "fastify-session-memory",
    description: "fastify 5 + @fastify/session (default memory store) + @fastify/cookie, POST /counter",
    server: ["fastify.ts", "session"],
    method: "POST",
    path: "/counter",
    cookie: "session",
    bare: "fastify-bare",
    counts: true
  }
]

// ---------------------------------------------------------------------------------------------
// flags
// ---------------------------------------------------------------------------------------------

const flag = (name: string): string | undefined => {
  const arg = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (arg === undefined) return undefined
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : "true"
}
const quick = flag("quick") !== undefined
const rounds = Number(flag("rounds") ?? (quick ? 3 : 5))
const duration = Number(flag("duration") ?? (quick ? 2 : 3))
const warmup = Number(flag("warmup") ?? (quick ? 1 : 3))
const connections = Number(flag("connections") ?? 10)
const only = flag("only")?.split(",").map((s) => s.trim())

// ---------------------------------------------------------------------------------------------
// tools: wrk, taskset, redis-server
// ---------------------------------------------------------------------------------------------

const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0

const aptInstall = (packages: ReadonlyArray<string>): boolean => {
  if (process.getuid?.() !== 0) return false
  console.error(`[bench] installing ${packages.join(" ")} with apt-get`)
  // keep a package's own service (e.g. redis-server on 6379) from starting
  const policy = "/usr/sbin/policy-rc.d"
  let madePolicy = false
  try {
    writeFileSync(policy, "#!/bin/sh\nexit 101\n", { flag: "wx", mode: 0o755 })
    madePolicy = true
  } catch {
    // one exists already
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  const install = () =>
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", ...packages], {
      stdio: ["ignore", "ignore", "inherit"],
      env
    }).status === 0
  try {
    if (install()) return true
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "update", "-q"], { stdio: "ignore", env })
    return install()
  } finally {
    if (madePolicy) rmSync(policy, { force: true })
  }
}

const ensureTool = (bin: string, packages: ReadonlyArray<string>): boolean =>
  has(bin) || (aptInstall(packages) && has(bin))

const cores = os.availableParallelism()
const pin = has("taskset") && cores >= 2
const pinned = (core: number, command: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  pin ? ["taskset", ["-c", String(core), command, ...args]] : [command, [...args]]

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

// every process this script starts, stopped by pid at the end
const children = new Set<ChildProcess>()
const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
  await exited
  clearTimeout(timer)
  children.delete(child)
}
const stopAll = () => Promise.all(Array.from(children, stopChild))
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)))

const startRedis = async (): Promise<{ url: string } | { error: string }> => {
  if (process.env.BENCH_REDIS_URL !== undefined) return { url: process.env.BENCH_REDIS_URL }
  if (!ensureTool("redis-server", ["redis-server"])) return { error: "redis-server is not installed" }
  const port = await freePort()
  const [cmd, args] = pinned(1, "redis-server", [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no"
  ])
  const child = spawn(cmd, args, { stdio: "ignore" })
  children.add(child)
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) return { url: `redis://127.0.0.1:${port}` }
    if (child.exitCode !== null) break
    await sleep(100)
  }
  return { error: "redis-server did not start" }
}

// ---------------------------------------------------------------------------------------------
// servers
// ---------------------------------------------------------------------------------------------

interface Running {
  readonly config: Config
  readonly child: ChildProcess
  readonly url: string
  /** The session cookies (one, or SESSIONS) or the dummy cookie. */
  readonly cookies: ReadonlyArray<string>
  /** `sessions`: the file wrk reads the cookies from. */
  readonly cookieFile: string | undefined
  readonly stderr: () => string
}

const DUMMY_COOKIE = `session=${"A".repeat(43)}.${"B".repeat(43)}`

const startServer = async (config: Config, env: NodeJS.ProcessEnv, tmpDir: string): Promise<Running> => {
  const entry = compiled(`bench/servers/${config.server[0]}`)
  const [cmd, args] = pinned(0, process.execPath, [entry, config.server[1]])
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  children.add(child)
  let stderr = ""
  child.stderr!.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => reject(new Error(`no LISTENING line after 60 s\n${stderr}`)), 60_000)
    child.stdout!.on("data", (chunk) => {
      out += chunk
      const match = /LISTENING (\d+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening\n${stderr}`))
    })
  })
  const url = `http://127.0.0.1:${port}`
  // make sessions as a browser would, and check that each is kept
  const makeSession = async (): Promise<string> => {
    const first = await fetch(`${url}/counter`, { method: "POST" })
    const body1 = await first.text()
    const pairs = first.headers.getSetCookie().map((line) => line.split(";")[0]!.trim())
    if (first.status !== 200 || body1 !== "1" || pairs.length === 0) {
      throw new Error(`preflight: POST /counter gave ${first.status} "${body1}" and ${pairs.length} cookie(s)`)
    }
    const cookie = pairs.join("; ")
    const second = await fetch(`${url}${config.path}`, { method: config.method, headers: { cookie } })
    const body2 = await second.text()
    const expected = config.path === "/counter" ? "2" : config.path === "/read" ? "1" : undefined
    if (second.status !== 200 || (expected !== undefined && body2 !== expected)) {
      throw new Error(`preflight: ${config.method} ${config.path} with the cookie gave ${second.status} "${body2}"`)
    }
    return cookie
  }
  const cookies: Array<string> = []
  if (config.cookie === "dummy") cookies.push(DUMMY_COOKIE)
  else for (let i = 0; i < (config.cookie === "sessions" ? SESSIONS : 1); i++) cookies.push(await makeSession())
  let cookieFile: string | undefined
  if (config.cookie === "sessions") {
    cookieFile = path.join(tmpDir, `${config.name}.cookies`)
    writeFileSync(cookieFile, cookies.join("\n") + "\n")
  }
  return { config, child, url, cookies, cookieFile, stderr: () => stderr }
}

// ---------------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------------

interface WrkResult {
  readonly requests: number
  readonly duration_us: number
  readonly p50_us: number
  readonly p90_us: number
  readonly p99_us: number
  readonly max_us: number
  readonly mean_us: number
  readonly connect: number
  readonly read: number
  readonly write: number
  readonly status: number
  readonly timeout: number
  readonly rps: number
}

const wrk = async (server: Running, seconds: number): Promise<WrkResult> => {
  const [cmd, args] = pinned(1, "wrk", [
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--timeout",
    "5s",
    "-s",
    path.join(ROOT, "bench", "wrk.lua"),
    ...(server.cookieFile === undefined ? ["-H", `Cookie: ${server.cookies[0]}`] : []),
    `${server.url}${server.config.path}`,
    "--",
    server.config.method,
    ...(server.cookieFile === undefined ? [] : [server.cookieFile])
  ])
  // asynchronous, so that this process keeps draining the servers' output pipes meanwhile
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] })
    let text = ""
    child.stdout.on("data", (chunk) => (text += chunk))
    child.stderr.on("data", (chunk) => (text += chunk))
    child.once("error", reject)
    child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))))
  })
  const line = out.split("\n").find((l) => l.startsWith("WRKJSON "))
  if (line === undefined) throw new Error(`wrk printed no result:\n${out}`)
  const raw = JSON.parse(line.slice("WRKJSON ".length))
  return { ...raw, rps: raw.requests / (raw.duration_us / 1e6) }
}

// ---------------------------------------------------------------------------------------------
// statistics and output
// ---------------------------------------------------------------------------------------------

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US")
const fmtUs = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`)

interface Row {
  readonly name: string
  readonly description: string
  readonly status: "ok" | "skipped" | "failed"
  readonly reason?: string
  readonly runs: ReadonlyArray<WrkResult>
  readonly rps?: number
  readonly p50_us?: number
  readonly p99_us?: number
  readonly ratio?: number
  readonly ratioOwnBare?: number
  readonly addedUs?: number
  readonly non2xx?: number
  readonly kept?: { readonly finalCount: number; readonly requests: number }
}

const machine = () => ({
  date: new Date().toISOString(),
  code: codeState(),
  nproc: cores,
  cpu: os.cpus()[0]?.model ?? "unknown",
  memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  wrk: (() => {
    const r = spawnSync("wrk", ["-v"], { encoding: "utf8" })
    return (r.stdout + r.stderr).split("\n")[0]?.trim() ?? "unknown"
  })(),
  pinning: pin
    ? "server on core 0, wrk (and redis-server) on core 1 (taskset)"
    : "no pinning (taskset missing or 1 core)"
})

const renderTable = (rows: ReadonlyArray<Row>) => {
  const header = [
    "config",
    "req/s (median)",
    "p50",
    "p99",
    "vs bare Effect",
    "+µs/req",
    "vs own bare",
    "non-2xx",
    "updates kept"
  ]
  const lines = rows.map((r) =>
    r.status !== "ok"
      ? [r.name, `${r.status}: ${r.reason ?? ""}`, "", "", "", "", "", "", ""]
      : [
        r.name,
        fmtInt(r.rps!),
        fmtUs(r.p50_us!),
        fmtUs(r.p99_us!),
        r.ratio!.toFixed(2),
        r.name === BASELINE ? "" : (r.addedUs! >= 0 ? "+" : "") + r.addedUs!.toFixed(1),
        r.ratioOwnBare === undefined ? "" : r.ratioOwnBare.toFixed(2),
        fmtInt(r.non2xx!),
        r.kept === undefined ? "" : `${fmtInt(r.kept.finalCount)} / ${fmtInt(r.kept.requests)}`
      ]
  )
  const md = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...lines.map((l) => `| ${l.join(" | ")} |`)
  ]
  return md.join("\n")
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

const main = async () => {
  if (!ensureTool("wrk", ["wrk"])) throw new Error("wrk is missing: apt-get install wrk (as root)")
  build()
  const selected = CONFIGS.filter((c) =>
    only === undefined || only.includes(c.name) || c.name === BASELINE ||
    CONFIGS.some((o) => only.includes(o.name) && o.bare === c.name)
  )
  const info = machine()
  const loadBefore = os.loadavg()
  console.error(
    `[bench] ${selected.length} configurations, ${rounds} rounds x ${duration} s after ${warmup} s warm-up, ` +
      `${connections} connections; ${info.pinning}`
  )

  // services some configurations need
  const tmp = mkdtempSync(path.join(os.tmpdir(), "effect-session-bench-"))
  const unavailable = new Map<Needs, string>()
  let redisUrl: string | undefined
  if (selected.some((c) => c.needs === "redis")) {
    const redis = await startRedis()
    if ("error" in redis) unavailable.set("redis", redis.error)
    else redisUrl = redis.url
  }
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: "production",
    ...(redisUrl === undefined ? {} : { BENCH_REDIS_URL: redisUrl })
  }

  // start every server (each its own process), check it, warm it up
  const running: Array<Running> = []
  const warmups = new Map<string, WrkResult>()
  const rows = new Map<string, Row>()
  for (const config of selected) {
    const missing = config.needs === undefined ? undefined : unavailable.get(config.needs)
    if (missing !== undefined) {
      rows.set(config.name, {
        name: config.name,
        description: config.description,
        status: "skipped",
        reason: missing,
        runs: []
      })
      continue
    }
    try {
      const server = await startServer(config, { ...env, BENCH_SQLITE_FILE: path.join(tmp, `${config.name}.db`) }, tmp)
      warmups.set(config.name, await wrk(server, warmup))
      running.push(server)
      console.error(`[bench] ${config.name}: up at ${server.url}, warmed up`)
    } catch (error) {
      const reason = String(error instanceof Error ? error.message : error).split("\n")[0]!
      console.error(`[bench] ${config.name}: not measured: ${String(error)}`)
      rows.set(config.name, { name: config.name, description: config.description, status: "failed", reason, runs: [] })
    }
  }
  if (!running.some((r) => r.config.name === BASELINE)) throw new Error("the bare Effect server did not start")

  // rounds, each in an order rotated by one
  const results = new Map<string, Array<WrkResult>>(running.map((r) => [r.config.name, []]))
  const perRound: Array<Map<string, WrkResult>> = []
  // each configuration's ratio to the bare Effect run just before it, one per round
  const toBaseline = new Map<string, Array<number>>(running.map((r) => [r.config.name, []]))
  const baseline = running.find((r) => r.config.name === BASELINE)!
  // the short runs before the measured ones (their requests count for "updates kept")
  const unmeasured = new Map<string, Array<WrkResult>>(running.map((r) => [r.config.name, []]))
  for (let round = 0; round < rounds; round++) {
    const others = running.filter((r) => r !== baseline)
    const order = others.map((_, i) => others[(i + round) % others.length]!)
    const thisRound = new Map<string, WrkResult>()
    for (const server of order) {
      // each measured run follows a short unmeasured one of the same server: a server that sat idle
      // for a round must not start its run cold while the bare one runs warm
      unmeasured.get(BASELINE)!.push(await wrk(baseline, 1))
      const bare = await wrk(baseline, duration)
      unmeasured.get(server.config.name)!.push(await wrk(server, 1))
      results.get(BASELINE)!.push(bare)
      toBaseline.get(BASELINE)!.push(1)
      const result = await wrk(server, duration)
      results.get(server.config.name)!.push(result)
      thisRound.set(server.config.name, result)
      toBaseline.get(server.config.name)!.push(result.rps / bare.rps)
    }
    perRound.push(thisRound)
    console.error(
      `[bench] round ${round + 1}/${rounds}: ` +
        order.map((s) => `${s.config.name} ${toBaseline.get(s.config.name)!.at(-1)!.toFixed(2)}`).join(", ")
    )
  }

  // how many updates each counter kept: the next increment's value against all successful requests
  const kept = new Map<string, { finalCount: number; requests: number }>()
  for (const server of running) {
    if (server.config.counts !== true) continue
    let finalCount = 0
    for (const cookie of server.cookies) {
      const reply = await fetch(`${server.url}/counter`, { method: "POST", headers: { cookie } })
      // the value this request saw, less itself: how many increments were kept
      finalCount += Number(await reply.text()) - 1
    }
    const w = warmups.get(server.config.name)!
    // every successful request of the warm-up and the runs, and the two preflight requests
    const sent = [w, ...unmeasured.get(server.config.name)!, ...results.get(server.config.name)!].reduce(
      (n, r) => n + r.requests - r.status,
      2 * server.cookies.length
    )
    kept.set(server.config.name, { finalCount, requests: sent })
  }

  await stopAll()
  rmSync(tmp, { recursive: true, force: true })

  // against another configuration (a framework's own bare server): the runs of the same round
  const pairedRatio = (name: string, base: string) =>
    base === BASELINE
      ? median(toBaseline.get(name)!)
      : median(perRound.flatMap((r) => (r.has(name) && r.has(base) ? [r.get(name)!.rps / r.get(base)!.rps] : [])))
  const baseRps = median(results.get(BASELINE)!.map((r) => r.rps))
  for (const config of selected) {
    const runs = results.get(config.name)
    if (runs === undefined) continue
    const rps = median(runs.map((r) => r.rps))
    const ownBare = config.bare !== undefined && config.bare !== BASELINE && results.has(config.bare)
      ? pairedRatio(config.name, config.bare)
      : config.bare === BASELINE
      ? pairedRatio(config.name, BASELINE)
      : undefined
    rows.set(config.name, {
      name: config.name,
      description: config.description,
      status: "ok",
      runs,
      rps,
      p50_us: median(runs.map((r) => r.p50_us)),
      p99_us: median(runs.map((r) => r.p99_us)),
      ratio: pairedRatio(config.name, BASELINE),
      ...(ownBare === undefined ? {} : { ratioOwnBare: ownBare }),
      // one server core, saturated: the difference in server time per request
      addedUs: 1e6 / rps - 1e6 / baseRps,
      non2xx: runs.reduce((n, r) => n + r.status, 0),
      ...(kept.has(config.name) ? { kept: kept.get(config.name)! } : {})
    })
  }
  const ordered = selected.map((c) => rows.get(c.name)!).filter((r) => r !== undefined)
  const table = renderTable(ordered)
  const loadAfter = os.loadavg()

  const notes = [
    `- ${info.date}; ${info.nproc} cores (${info.cpu}), ${info.memory}, Node ${info.node}, ${info.wrk}; ${info.platform}.`,
    `- Code: ${info.code}.`,
    `- ${info.pinning}; wrk -t1 -c${connections}; ${warmup} s warm-up per server, then ${rounds} rounds; in each, ` +
    `every configuration (order rotated each round) runs ${duration} s right after ${duration} s of bare Effect, each ` +
    `measured run following 1 s of unmeasured load on the same server.`,
    `- req/s, p50, p99: medians over the rounds. "vs bare Effect": median over the rounds of the ratio to the bare ` +
    `Effect run just before (every run of a configuration follows one); "vs own bare": to the framework's bare ` +
    `server measured in the same round. "+µs/req": 1/req/s - 1/req/s(bare Effect), the server ` +
    `time a request adds on its saturated core.`,
    `- Session routes: every connection sends the same session cookie (made by one POST /counter before the runs), ` +
    `as a browser would; "-${SESSIONS}" configurations take ${SESSIONS} sessions' cookies in turn (many clients). ` +
    `The bare servers get a cookie header of the same length. "updates kept": the counter's ` +
    `value after the runs (increments kept) against the successful requests that incremented it (warm-up included); ` +
    `fewer kept than made are lost updates (a few requests in flight when wrk stops are counted by the server only).`,
    `- Load average (1/5/15 min) before: ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after: ` +
    `${loadAfter.map((l) => l.toFixed(2)).join(" ")} (the machine is shared: compare ratios, not absolute figures).`
  ]
  const descriptions = ordered.map((r) => `- \`${r.name}\`: ${r.description}`)
  const md = [
    "# effect-session benchmark: latest run",
    "",
    `Command: \`npm run bench${quick ? " -- --quick" : ""}\``,
    "",
    table,
    "",
    ...notes,
    "",
    "Configurations:",
    "",
    ...descriptions,
    ""
  ].join("\n")

  console.log(`\n${table}\n\n${notes.join("\n")}`)
  if (only === undefined) {
    mkdirSync(RESULTS, { recursive: true })
    writeFileSync(path.join(RESULTS, "latest.md"), md)
    writeFileSync(
      path.join(RESULTS, "latest.json"),
      JSON.stringify(
        {
          machine: info,
          settings: { quick, rounds, duration, warmup, connections },
          loadBefore,
          loadAfter,
          rows: ordered
        },
        null,
        2
      ) + "\n"
    )
    console.error(`[bench] written bench/results/latest.md and latest.json`)
  }
}

main().catch(async (error) => {
  console.error(error)
  await stopAll()
  process.exit(1)
})
