/**
 * `npx tsx bench/profile.ts`: where the time of a request goes. Runs the bare Effect server and
 * the effect-session counter route (memory store, one session cookie) each under
 * V8's CPU profiler (the one behind `node --cpu-prof`, started over node:inspector for the measured
 * window only, 100 µs sampling), pinned to core 0, loaded by wrk on core 1 for a fixed time,
 * then reads the profiles: CPU µs per request by where the code lives (effect-session's src/,
 * effect core, @effect/platform, Node internals, GC) and the top self-time functions, so that the
 * difference between the two shows what the session layer costs and where.
 *
 * Profiles go to .tmp/bench-profiles/ (open them in Chrome DevTools); the summary to
 * bench/results/profile[-<config>][-100].md. Flags: `--duration=S` (default 10),
 * `--config=memory|sqlite|redis`, `--sessions=1|100` (one session cookie on every connection, as a
 * browser; or the cookies of 100 sessions in turn, as many clients).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

import { build, codeState, compiled } from "./build.js"

const ROOT = path.resolve(import.meta.dirname, "..")
const OUT = path.join(ROOT, ".tmp", "bench-profiles")
const flag = (name: string) => process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.split("=")[1]
const duration = Number(flag("duration") ?? 10)
const sessionConfig = flag("config") ?? "memory"
// 1: one session cookie on every connection (a browser); 100: the cookies of 100 sessions in turn
const sessionCount = Number(flag("sessions") ?? 1)
if (sessionCount !== 1 && sessionCount !== 100) throw new Error("--sessions must be 1 or 100")
const resultName = `profile${sessionConfig === "memory" ? "" : `-${sessionConfig}`}${
  sessionCount === 100 ? "-100" : ""
}`
const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0
const pin = has("taskset") && os.availableParallelism() >= 2
const pinned = (core: number, cmd: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  pin ? ["taskset", ["-c", String(core), cmd, ...args]] : [cmd, [...args]]

interface Target {
  readonly name: string
  readonly arg: string
  readonly method: string
  readonly path: string
  readonly session: boolean
}

const TARGETS: ReadonlyArray<Target> = [
  { name: "bare", arg: "bare", method: "POST", path: "/counter", session: false },
  { name: `session-${sessionConfig}-counter`, arg: sessionConfig, method: "POST", path: "/counter", session: true }
]

const run = (cmd: string, args: ReadonlyArray<string>) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] })
    let text = ""
    child.stdout.on("data", (c) => (text += c))
    child.stderr.on("data", (c) => (text += c))
    child.once("error", reject)
    child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(text))))
  })

const startRedis = async (): Promise<{ url: string; child?: ChildProcess }> => {
  if (process.env.BENCH_REDIS_URL !== undefined) return { url: process.env.BENCH_REDIS_URL }
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port
      s.close(() => resolve(p))
    })
  })
  const [cmd, args] = pinned(1, "redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", ""])
  const child = spawn(cmd, args, { stdio: "ignore" })
  await new Promise((resolve) => setTimeout(resolve, 500))
  return { url: `redis://127.0.0.1:${port}`, child }
}

const ask = (child: ChildProcess, message: unknown) =>
  new Promise<any>((resolve) => {
    child.once("message", resolve)
    child.send(message as never)
  })

const WARMUP = 3

const profileOne = async (target: Target, env: NodeJS.ProcessEnv) => {
  mkdirSync(OUT, { recursive: true })
  const file = path.join(OUT, `${target.name}.cpuprofile`)
  const [cmd, args] = pinned(0, process.execPath, [compiled("bench/servers/effect.ts"), target.arg])
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    env: { ...process.env, ...env }
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (c) => {
      out += c
      const m = /LISTENING (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
  })
  const url = `http://127.0.0.1:${port}`
  const cookies: Array<string> = []
  for (let i = 0; i < (target.session ? sessionCount : 1); i++) {
    if (!target.session) {
      cookies.push(`session=${"A".repeat(43)}.${"B".repeat(43)}`)
      continue
    }
    const first = await fetch(`${url}/counter`, { method: "POST" })
    await first.text()
    cookies.push(first.headers.getSetCookie()[0]!.split(";")[0]!)
  }
  // wrk.lua sends the cookies of this file in turn (one per request)
  const cookieFile = path.join(OUT, `${target.name}.cookies`)
  writeFileSync(cookieFile, cookies.join("\n") + "\n")
  // a wrk run's result, as bench/wrk.lua prints it
  const wrk = async (seconds: number): Promise<{ readonly requests: number; readonly duration_us: number }> => {
    const [c, a] = pinned(1, "wrk", [
      "-t1",
      "-c10",
      `-d${seconds}s`,
      "-s",
      path.join(ROOT, "bench", "wrk.lua"),
      "-H",
      `Cookie: ${cookies[0]}`,
      `${url}${target.path}`,
      "--",
      target.method,
      cookieFile
    ])
    const out = await run(c, a)
    return JSON.parse(out.split("\n").find((l) => l.startsWith("WRKJSON "))!.slice("WRKJSON ".length))
  }
  await wrk(WARMUP)
  // the server's CPU time per request without the profiler, from the kernel's accounting: a
  // cross-check of the profile, whose sampler charges some user time to the native call it
  // happens to interrupt (`writev`)
  const before = cpuTicks(child.pid!)
  const plain = await wrk(PLAIN)
  const after = cpuTicks(child.pid!)
  const kernelCpu = {
    userUs: ((after.user - before.user) / CLK_TCK) * 1e6 / plain.requests,
    systemUs: ((after.system - before.system) / CLK_TCK) * 1e6 / plain.requests,
    rps: plain.requests / (plain.duration_us / 1e6)
  }
  // the profiler runs only while the measured load does
  await ask(child, { profile: "start", interval: 100 })
  const result = await wrk(duration)
  await ask(child, { profile: "stop", file })
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  await exited
  return { file, result, kernelCpu }
}

const PLAIN = 5
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100

/** User and system CPU time of a process so far, in clock ticks (/proc/<pid>/stat, fields 14 and 15). */
const cpuTicks = (pid: number) => {
  // the command name (field 2) is in parentheses and may hold spaces: count from after it
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return { user: Number(fields[11]), system: Number(fields[12]) }
}

// ---------------------------------------------------------------------------------------------
// reading a profile
// ---------------------------------------------------------------------------------------------

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

const category = (url: string, fn: string): string => {
  if (fn === "(garbage collector)") return "GC"
  if (fn === "(idle)") return "idle"
  if (fn === "(program)") return "V8/native (program)"
  if (url.includes("/work/") && url.includes("/src/") && !url.includes("node_modules")) return "effect-session src/"
  if (url.includes("node_modules/effect/")) return "effect core"
  if (url.includes("node_modules/@effect/platform-node/")) return "@effect/platform-node"
  if (url.includes("node_modules/@effect/platform/")) return "@effect/platform"
  if (url.includes("node_modules/@effect/sql") || url.includes("better-sqlite3")) return "sql driver"
  if (url.includes("node_modules/ioredis") || url.includes("node_modules/redis")) return "redis client"
  if (url.includes("/bench/")) return "bench server"
  if (url.startsWith("node:") || url === "") return "node internals / builtins"
  return "other node_modules"
}

const shortUrl = (url: string) =>
  url.replace(/^file:\/\//, "").replace(ROOT + "/", "").replace(/^\.tmp\/bench-build\//, "").replace(
    /^node_modules\//,
    ""
  ).replace(/\/dist\/esm\//, "/")

const analyse = (file: string) => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: ReadonlyArray<ProfileNode>
    samples: ReadonlyArray<number>
    timeDeltas: ReadonlyArray<number>
    startTime: number
    endTime: number
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const byCategory = new Map<string, number>()
  const byFunction = new Map<string, { us: number; category: string }>()
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const cat = category(url, functionName)
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us)
    const key = `${functionName || "(anonymous)"} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ""}`
    const entry = byFunction.get(key) ?? { us: 0, category: cat }
    entry.us += us
    byFunction.set(key, entry)
  }
  return { byCategory, byFunction, totalUs: profile.endTime - profile.startTime }
}

const main = async () => {
  if (!has("wrk")) throw new Error("wrk is missing (npm run bench installs it)")
  build()
  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  let redis: { url: string; child?: ChildProcess } | undefined
  const env: NodeJS.ProcessEnv = { NODE_ENV: "production", BENCH_SQLITE_FILE: path.join(OUT, "profile.db") }
  if (sessionConfig === "redis") {
    redis = await startRedis()
    env.BENCH_REDIS_URL = redis.url
  }
  const runs = []
  for (const target of TARGETS) {
    const { file, kernelCpu, result } = await profileOne(target, env)
    runs.push({ target, file, result, kernelCpu, analysis: analyse(file) })
    console.error(
      `[profile] ${target.name}: ${Math.round(result.requests / (result.duration_us / 1e6))} req/s, ${file}`
    )
  }
  redis?.child?.kill("SIGTERM")
  rmSync(path.join(OUT, "profile.db"), { force: true })

  const lines: Array<string> = []
  const log = (l = "") => {
    console.log(l)
    lines.push(l)
  }
  log(
    `# CPU profile of the counter route (npx tsx bench/profile.ts${
      (sessionConfig === "memory" ? "" : ` --config=${sessionConfig}`) +
      (sessionCount === 1 ? "" : ` --sessions=${sessionCount}`)
    })`
  )
  log()
  log(
    `${
      new Date().toISOString()
    }; code ${codeState()}; V8 CPU profiler (as node --cpu-prof; started through node:inspector for the ` +
      `measured window only), 100 µs sampling; compiled JS (bench/build.ts); server pinned to core 0, wrk -t1 -c10 on ` +
      `core 1, ${duration} s measured after ${WARMUP} s of warm-up and ${PLAIN} s unprofiled (the /proc figures); ` +
      `load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}.`
  )
  log()
  // CPU µs per request, by category: busy time of the whole profile / all requests it served
  const perRequest = runs.map((r) => {
    const busy = new Map(r.analysis.byCategory)
    busy.delete("idle")
    // requests in flight when the profiler starts and stops make this a little inexact
    const requests = r.result.requests
    return { name: r.target.name, busy, requests, rps: r.result.requests / (r.result.duration_us / 1e6) }
  })
  const cats = Array.from(new Set(perRequest.flatMap((p) => Array.from(p.busy.keys()))))
  const [bare, sess] = perRequest
  const us = (p: typeof bare, c: string) => (p!.busy.get(c) ?? 0) / p!.requests
  cats.sort((a, b) => us(sess, b) - us(sess, a))
  log(`## CPU µs per request by where the code lives (profiled time / requests wrk counted)`)
  log()
  log(`| category | ${bare!.name} | ${sess!.name} | added |`)
  log("|---|---:|---:|---:|")
  let tb = 0
  let ts = 0
  for (const c of cats) {
    tb += us(bare, c)
    ts += us(sess, c)
    log(`| ${c} | ${us(bare, c).toFixed(1)} | ${us(sess, c).toFixed(1)} | ${(us(sess, c) - us(bare, c)).toFixed(1)} |`)
  }
  log(`| **total** | **${tb.toFixed(1)}** | **${ts.toFixed(1)}** | **${(ts - tb).toFixed(1)}** |`)
  log()
  log(`req/s under the profiler: ${bare!.name} ${Math.round(bare!.rps)}, ${sess!.name} ${Math.round(sess!.rps)}.`)
  log()
  const [kb, ks] = runs.map((r) => r.kernelCpu)
  log(`## Server CPU µs per request without the profiler (/proc/<pid>/stat over a ${PLAIN} s run)`)
  log()
  log(
    "V8's sampler charges part of the user time to the native call it interrupts (`writev` above); the " +
      "kernel's accounting tells user time from system time:"
  )
  log()
  log(`| | ${bare!.name} | ${sess!.name} | added |`)
  log("|---|---:|---:|---:|")
  log(`| user | ${kb!.userUs.toFixed(1)} | ${ks!.userUs.toFixed(1)} | ${(ks!.userUs - kb!.userUs).toFixed(1)} |`)
  log(
    `| system | ${kb!.systemUs.toFixed(1)} | ${ks!.systemUs.toFixed(1)} | ${(ks!.systemUs - kb!.systemUs).toFixed(1)} |`
  )
  log(`| req/s | ${Math.round(kb!.rps)} | ${Math.round(ks!.rps)} | |`)
  log()
  for (const r of runs) {
    const busyTotal = Array.from(r.analysis.byCategory).filter(([c]) => c !== "idle").reduce((n, [, v]) => n + v, 0)
    const top = Array.from(r.analysis.byFunction).filter(([, v]) => v.category !== "idle")
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, 25)
    log(`## ${r.target.name}: top 25 self-time functions (share of busy time)`)
    log()
    log("| self % | function | category |")
    log("|---:|---|---|")
    for (const [k, v] of top) log(`| ${((v.us / busyTotal) * 100).toFixed(1)} | \`${k}\` | ${v.category} |`)
    log()
    if (r.target.session) {
      const ours = Array.from(r.analysis.byFunction).filter(([, v]) => v.category === "effect-session src/")
        .sort((a, b) => b[1].us - a[1].us)
        .slice(0, 20)
      log(`## ${r.target.name}: effect-session's own functions (self time)`)
      log()
      log("| self % | µs/req | function |")
      log("|---:|---:|---|")
      const requests = perRequest.find((p) => p.name === r.target.name)!.requests
      for (const [k, v] of ours) {
        log(`| ${((v.us / busyTotal) * 100).toFixed(2)} | ${(v.us / requests).toFixed(2)} | \`${k}\` |`)
      }
      log()
    }
  }
  log(`Profiles: ${runs.map((r) => path.relative(ROOT, r.file)).join(", ")}`)
  mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true })
  writeFileSync(
    path.join(ROOT, "bench", "results", `${resultName}.md`),
    lines.join("\n") + "\n"
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
