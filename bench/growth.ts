/**
 * `npm run bench:growth`: how the cost of a request grows with the session's size, and how the
 * memory store's expiry sweep behaves at 1M sessions.
 *
 * 1. Session size: the app runs in this process under `HttpSession.middleware` with the memory
 *    store, called through `HttpApp.toWebHandlerLayer` (the whole HTTP layer: request, router,
 *    middleware, signed cookie, store; no socket). A session is seeded with 10, 100 or 1 000 keys
 *    (`k0`..`kN-1`, short strings); then, one request at a time, with the session's cookie:
 *    `GET /untouched` (never touches the session), `GET /read` (reads one key) and `POST /write`
 *    (changes one key: load, decode, commit, encode, save). CPU time of this process per request
 *    (process.cpuUsage, so that other load on a shared machine counts less), median of several
 *    batches. The commit's own cost is write - read. Then the read again with the cookies of 200 such
 *    sessions in turn: more than the memory store keeps decoded, so each load parses and rebuilds.
 * 2. Expiry sweep: a memory store (`SessionStore.makeMemory`) filled with 1M sessions directly
 *    through its `save` (1M HTTP requests would take minutes and measure the same store), with 0 %,
 *    50 % or 100 % of them expired; then one sweep pass runs as the store's scheduled fiber runs it
 *    (a fiber on the default runtime) while `perf_hooks.monitorEventLoopDelay` (1 ms resolution)
 *    and a 1 ms interval timer watch the event loop. Prints the max and p99 delay.
 *
 * Flags: `--quick` (fewer requests, 200k sessions for the sweep), `--only=size|sweep`.
 */
import { HttpApp, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Duration, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as HttpSession from "../src/HttpSession.js"
import * as Session from "../src/Session.js"
import * as SessionStore from "../src/SessionStore.js"

// from bench/ or from .tmp/bench-build/bench/
const ROOT = path.resolve(import.meta.dirname, import.meta.url.endsWith(".ts") ? ".." : "../../..")
const argv = process.argv.slice(2)
const quick = argv.includes("--quick")
const only = argv.find((a) => a.startsWith("--only="))?.split("=")[1]
const out: Array<string> = []
const log = (line = "") => {
  console.log(line)
  out.push(line)
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

// ---------------------------------------------------------------------------------------------
// 1. cost per request against session size
// ---------------------------------------------------------------------------------------------

const sizeBench = async () => {
  const SIZES = [10, 100, 1000]
  const BATCHES = quick ? 3 : 7
  const PER_BATCH = quick ? 200 : 1000
  // more sessions than the memory store keeps decoded (its 128 most recently used large ones)
  const MANY = 200

  let tick = 0
  const app = HttpRouter.empty.pipe(
    HttpRouter.post(
      "/seed",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const n = Number(new URL(request.url, "http://x").searchParams.get("n"))
        for (let i = 0; i < n; i++) yield* Session.set(`k${i}`, `value number ${i}`)
        return HttpServerResponse.text(String(n))
      })
    ),
    HttpRouter.get("/untouched", Effect.succeed(HttpServerResponse.text("hi"))),
    HttpRouter.get("/read", Effect.map(Session.get("k1"), (v) => HttpServerResponse.text(String(Option.getOrNull(v))))),
    HttpRouter.post(
      "/write",
      Effect.suspend(() => Effect.as(Session.set("k0", `changed ${tick++}`), HttpServerResponse.text("ok")))
    ),
    HttpSession.middleware
  )
  const layer = HttpSession.layer({
    secrets: [Redacted.make("benchmark secret: thirty-two bytes or more, fixed")],
    cookie: { secure: false }
  }).pipe(Layer.provideMerge(SessionStore.layerMemory({ maxEntries: 1_000_000 })))
  const { dispose, handler } = HttpApp.toWebHandlerLayer(app, layer)

  const call = async (method: string, route: string, cookie?: string) => {
    const response = await handler(
      new Request(`http://localhost${route}`, { method, headers: cookie === undefined ? {} : { cookie } })
    )
    if (response.status !== 200) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`)
    const setCookie = response.headers.getSetCookie()
    await response.arrayBuffer()
    return setCookie
  }

  /** CPU µs per request of `count` sequential calls. */
  const measure = async (method: string, route: string, cookie: string | ReadonlyArray<string>, count: number) => {
    const cookies = typeof cookie === "string" ? [cookie] : cookie
    const start = process.cpuUsage()
    for (let i = 0; i < count; i++) await call(method, route, cookies[i % cookies.length])
    const used = process.cpuUsage(start)
    return (used.user + used.system) / count
  }

  // warm-up of the whole path (JIT) on a small session before anything is measured
  {
    const cookie = (await call("POST", `/seed?n=10`))[0]!.split(";")[0]!
    for (const [m, r] of [["GET", "/untouched"], ["GET", "/read"], ["POST", "/write"]] as const) {
      await measure(m, r, cookie, 3000)
    }
  }
  const rows: Array<{ size: number; untouched: number; read: number; write: number; readMany: number }> = []
  for (const size of SIZES) {
    const cookie = (await call("POST", `/seed?n=${size}`))[0]!.split(";")[0]!
    // warm-up
    for (const [m, r] of [["GET", "/untouched"], ["GET", "/read"], ["POST", "/write"]] as const) {
      await measure(m, r, cookie, PER_BATCH)
    }
    // sessions read in turn, more than the memory store keeps decoded: each load parses and rebuilds
    const many: Array<string> = []
    for (let i = 0; i < MANY; i++) many.push((await call("POST", `/seed?n=${size}`))[0]!.split(";")[0]!)
    await measure("GET", "/read", many, MANY)
    const samples = {
      untouched: [] as Array<number>,
      read: [] as Array<number>,
      write: [] as Array<number>,
      readMany: [] as Array<number>
    }
    for (let b = 0; b < BATCHES; b++) {
      samples.untouched.push(await measure("GET", "/untouched", cookie, PER_BATCH))
      samples.read.push(await measure("GET", "/read", cookie, PER_BATCH))
      samples.write.push(await measure("POST", "/write", cookie, PER_BATCH))
      samples.readMany.push(await measure("GET", "/read", many, PER_BATCH))
    }
    rows.push({
      size,
      untouched: median(samples.untouched),
      read: median(samples.read),
      write: median(samples.write),
      readMany: median(samples.readMany)
    })
  }
  await dispose()

  log("## Cost per request against session size (memory store, one key changed per write)")
  log()
  log(
    "| keys | untouched µs/req | read µs/req | write µs/req | read - untouched (load) | write - read (commit) | write vs 10 keys " +
      `| read, ${MANY} sessions in turn | its load |`
  )
  log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  const w10 = rows[0]!.write
  for (const r of rows) {
    log(
      `| ${r.size} | ${r.untouched.toFixed(1)} | ${r.read.toFixed(1)} | ${r.write.toFixed(1)} | ${
        (r.read - r.untouched).toFixed(1)
      } | ${(r.write - r.read).toFixed(1)} | ${(r.write / w10).toFixed(1)}x | ${r.readMany.toFixed(1)} | ${
        (r.readMany - r.untouched).toFixed(1)
      } |`
    )
  }
  log()
  log(
    `- In process through HttpApp.toWebHandlerLayer (no socket), one request at a time; CPU time (user+sys) per ` +
      `request, median of ${BATCHES} batches of ${PER_BATCH}. Keys are plain string keys holding short strings. ` +
      `"read, ${MANY} sessions in turn": the read route with the cookies of ${MANY} sessions of that size, one ` +
      `after the other, more than the memory store keeps decoded (its most recently used large sessions): each of ` +
      `those loads parses the session's JSON and builds its data again.`
  )
  log()
  return rows
}

// ---------------------------------------------------------------------------------------------
// 2. the expiry sweep at 1M sessions
// ---------------------------------------------------------------------------------------------

const sweepBench = async () => {
  const COUNT = quick ? 200_000 : 1_000_000
  const results: Array<Record<string, number>> = []
  for (const expiredShare of [0, 0.5, 1]) {
    const scope = Effect.runSync(Scope.make())
    const store = await Effect.runPromise(
      Scope.extend(
        SessionStore.makeMemory({
          // room for every session by count and by bytes (a session here counts about 300 bytes):
          // the store must not evict while it is filled
          maxEntries: COUNT * 2,
          maxBytes: COUNT * 1024,
          retainExpired: Duration.zero,
          // the scheduled sweep stays out of the way: this script runs one pass itself
          sweepInterval: Duration.hours(24)
        }),
        scope
      )
    )
    // the store's time: real time plus an offset, moved forward before the sweep so that the
    // sessions made to expire do so after the fill (the store trims expired ones while saving)
    let offset = 0
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => Date.now() + offset,
      currentTimeMillis: Effect.sync(() => Date.now() + offset),
      unsafeCurrentTimeNanos: () => BigInt(Date.now() + offset) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(Date.now() + offset) * 1_000_000n),
      sleep: (duration) => Effect.sleep(duration)
    }
    const now = Date.now()
    const t0 = performance.now()
    for (let i = 0; i < COUNT; i++) {
      // expired ones spread through the map, as under real traffic
      const expired = expiredShare === 1 || (expiredShare > 0 && i % Math.round(1 / expiredShare) === 0)
      const id = `${i.toString(36).padStart(8, "0")}${"x".repeat(35)}`
      Effect.runSync(Effect.withClock(
        store.save(id, {
          data: { count: 1 },
          version: 1,
          createdAt: now - 60_000,
          expiresAt: expired ? now + 60_000 : now + 3_600_000,
          userId: undefined
        }, 0),
        clock
      ))
    }
    const fillSeconds = (performance.now() - t0) / 1000

    // watch the event loop while one pass runs as the store's own fiber runs it
    const histogram = monitorEventLoopDelay({ resolution: 1 })
    let maxGap = 0
    let last = performance.now()
    // and the CPU time this process spent between two beats: on a shared machine a gap also holds
    // the time the process waited for a core, which this does not (see bench/README.md)
    let maxGapCpu = 0
    let lastCpu = process.cpuUsage()
    const heartbeat = setInterval(() => {
      const t = performance.now()
      const cpu = process.cpuUsage(lastCpu)
      maxGap = Math.max(maxGap, t - last)
      maxGapCpu = Math.max(maxGapCpu, (cpu.user + cpu.system) / 1000)
      last = t
      lastCpu = process.cpuUsage()
    }, 1)
    histogram.enable()
    // both watchers running before the pass starts (histogram.reset() would stop the histogram from
    // seeing the next block on Node 20, so it is made just for this pass instead)
    await new Promise((resolve) => setTimeout(resolve, 50))
    maxGap = 0
    maxGapCpu = 0
    offset = 120_000
    const size = store.size()
    if (size !== COUNT) throw new Error(`the store holds ${size} sessions after ${COUNT} saves: it evicted some`)
    const s0 = performance.now()
    const removed = await Effect.runPromise(Effect.withClock(store.sweep, clock))
    const sweepMs = performance.now() - s0
    await new Promise((resolve) => setTimeout(resolve, 20))
    histogram.disable()
    clearInterval(heartbeat)
    results.push({
      expiredShare,
      sessions: size,
      removed,
      fillSeconds,
      sweepMs,
      maxDelayMs: histogram.max / 1e6,
      p99DelayMs: histogram.percentile(99) / 1e6,
      maxTimerGapMs: maxGap,
      maxGapCpuMs: maxGapCpu
    })
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }

  log(`## Memory store expiry sweep at ${COUNT.toLocaleString("en-US")} sessions`)
  log()
  log(
    "| expired | sessions | removed | sweep pass (wall) | event-loop delay max | p99 | longest gap of a 1 ms timer | most CPU between two beats |"
  )
  log("|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const r of results) {
    log(
      `| ${Math.round(r.expiredShare! * 100)} % | ${r.sessions!.toLocaleString("en-US")} | ${
        r.removed!.toLocaleString("en-US")
      } | ${r.sweepMs!.toFixed(0)} ms | ${r.maxDelayMs!.toFixed(1)} ms | ${r.p99DelayMs!.toFixed(1)} ms | ${
        r.maxTimerGapMs!.toFixed(1)
      } ms | ${r.maxGapCpuMs!.toFixed(1)} ms |`
    )
  }
  log()
  log(
    `- Store filled through its own save (${results[0]!.fillSeconds!.toFixed(1)} s for the first fill), then one ` +
      `sweep pass run as a fiber (Effect.runPromise(store.sweep)), watched by perf_hooks.monitorEventLoopDelay ` +
      `(resolution 1 ms) and a 1 ms setInterval; the last column is the most CPU time (user+sys, all threads) the ` +
      `process used between two beats of that timer, which leaves out the time it waited for a core on a busy ` +
      `machine. Target: no block over 10 ms.`
  )
  log()
  return results
}

const main = async () => {
  // run as compiled JavaScript (see bench/build.ts), with --expose-gc
  if (import.meta.url.endsWith(".ts")) {
    const { build, compiled } = await import("./build.js")
    build()
    const child = spawnSync(process.execPath, ["--expose-gc", compiled("bench/growth.ts"), ...argv], {
      stdio: "inherit",
      cwd: ROOT
    })
    process.exit(child.status ?? 1)
  }
  log(`# Growth (npm run bench:growth${quick ? " -- --quick" : ""})`)
  log()
  const { codeState } = await import("./build.js")
  log(
    `${new Date().toISOString()}; code ${codeState()}; ${os.availableParallelism()} cores (${
      os.cpus()[0]?.model
    }), Node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}.`
  )
  log()
  const size = only === undefined || only === "size" ? await sizeBench() : undefined
  const sweep = only === undefined || only === "sweep" ? await sweepBench() : undefined
  if (only === undefined) {
    mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true })
    writeFileSync(path.join(ROOT, "bench", "results", "growth.md"), out.join("\n") + "\n")
    writeFileSync(
      path.join(ROOT, "bench", "results", "growth.json"),
      JSON.stringify({ quick, size, sweep }, null, 2) + "\n"
    )
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
