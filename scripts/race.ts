/**
 * The lost-update race (`npm run demo:race`): N concurrent `POST /counter` requests of ONE session,
 * each handler reading the count, waiting a little (a stand-in for the database call or HTTP call a
 * real handler makes between reading the session and writing it), then writing count + 1. Against
 * express 5 + express-session and against effect-session; every server runs in a process of its
 * own, the Redis rows on two processes sharing one Redis (as two app instances behind a load
 * balancer), the requests spread over them in turn.
 *
 * express-session loads a copy of the session per request and saves it when the response ends (last
 * writer wins), so concurrent requests overwrite each other's increments. effect-session runs the
 * units of work of one session one at a time in a process, and across processes its compare-and-set
 * commit detects the other writer: with `merge-then-retry` the handler runs again on fresh data; with
 * the default policy (`merge`, which cannot merge two changes of one key) the request answers 409
 * and the client may retry. In every effect-session row, every 200 is counted.
 *
 * Then the parallel-reads race: a page that fires RACE_READS (default 6) API calls at once, each
 * reading the session (who is logged in) and then doing RACE_READ_WORK_MS (default 200) of other
 * work, on each server (the Redis ones on their two processes, the calls spread over them). It
 * prints the time to the last answer: a library that locks the session for readers (PHP's session
 * locking) answers them one after the other; effect-session's readers take no lock.
 *
 * Environment: RACE_REQUESTS (default 100), RACE_GAP_MS (default 10), RACE_READS, RACE_READ_WORK_MS,
 * REDIS_URL (default redis://127.0.0.1:6390; the Redis rows are skipped when it does not answer).
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import RedisStore from "connect-redis"
import { Effect, Layer, Redacted, Schema } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"
import * as EffectRedisStore from "effect-session/SessionStore/Redis"
import express from "express"
import session from "express-session"
import { Redis } from "ioredis"
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as net from "node:net"
import { fileURLToPath } from "node:url"

declare module "express-session" {
  interface SessionData {
    count: number
  }
}

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6390"
const GAP_MS = Number(process.env.RACE_GAP_MS ?? 10)
const REQUESTS = Number(process.env.RACE_REQUESTS ?? 100)
const READS = Number(process.env.RACE_READS ?? 6)
const READ_WORK_MS = Number(process.env.RACE_READ_WORK_MS ?? 200)

// ---------------------------------------------------------------------------------------------
// the servers (a child process each: RACE_SERVER=...)
// ---------------------------------------------------------------------------------------------

/** express 5 + express-session; the store is express-session's MemoryStore or connect-redis. */
const expressServer = (store: "memory" | "redis") => {
  const app = express()
  app.use(session({
    secret: process.env.RACE_SECRET!,
    store: store === "redis"
      ? new RedisStore({ client: new Redis(REDIS_URL), prefix: process.env.RACE_PREFIX!, ttl: 60 })
      : new session.MemoryStore(),
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: "lax" }
  }))
  app.post("/start", (req, res) => {
    req.session.count = 0
    res.type("text/plain").send("0")
  })
  app.post("/counter", async (req, res) => {
    const n = req.session.count ?? 0
    await new Promise((resolve) => setTimeout(resolve, GAP_MS)) // e.g. a database call
    req.session.count = n + 1
    res.type("text/plain").send(String(n + 1))
  })
  app.get("/counter", (req, res) => {
    res.type("text/plain").send(String(req.session.count ?? 0))
  })
  app.get("/me", async (req, res) => {
    const n = req.session.count ?? 0
    await new Promise((resolve) => setTimeout(resolve, READ_WORK_MS)) // other work of the API call
    res.type("text/plain").send(String(n))
  })
  const server = app.listen(0, "127.0.0.1", () => {
    console.log(`Listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
  process.on("SIGTERM", () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}

const Count = Session.key("count", Schema.Number)

/** effect-session on the memory store or on Redis; the same handler, the same gap. */
const effectServer = (store: "memory" | "redis") => {
  const app = HttpRouter.empty.pipe(
    HttpRouter.post("/start", Effect.as(Session.set(Count, 0), HttpServerResponse.text("0"))),
    HttpRouter.post(
      "/counter",
      Effect.gen(function*() {
        const n = yield* Session.getOrElse(Count, () => 0)
        yield* Effect.sleep(GAP_MS) // e.g. a database call
        yield* Session.set(Count, n + 1)
        return HttpServerResponse.text(String(n + 1))
      })
    ),
    HttpRouter.get(
      "/counter",
      Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(String(n)))
    ),
    HttpRouter.get(
      "/me",
      Effect.gen(function*() {
        const n = yield* Session.getOrElse(Count, () => 0)
        yield* Effect.sleep(READ_WORK_MS) // other work of the API call
        return HttpServerResponse.text(String(n))
      })
    ),
    HttpSession.middleware
  )
  const StoreLive = store === "redis"
    ? EffectRedisStore.layerStore({ url: REDIS_URL, prefix: process.env.RACE_PREFIX!, retainExpired: "1 minute" })
    : SessionStore.layerMemory()
  const SessionLive = HttpSession.layer({
    secrets: [Redacted.make(process.env.RACE_SECRET!)],
    cookie: { secure: false },
    idleTimeout: "1 minute",
    // all N requests queue on one session's lock: let them wait longer than the default 5 s
    lockTimeout: "60 seconds",
    onConflict: process.env.RACE_ON_CONFLICT as "merge" | "merge-then-retry",
    retryAttempts: 100
  }).pipe(Layer.provide(StoreLive))
  HttpServer.serve(app).pipe(
    HttpServer.withLogAddress,
    Layer.provide(SessionLive),
    Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
    Layer.launch,
    NodeRuntime.runMain
  )
}

// ---------------------------------------------------------------------------------------------
// the race
// ---------------------------------------------------------------------------------------------

interface Scenario {
  readonly label: string
  readonly server: "express-memory" | "express-redis" | "effect-memory" | "effect-redis"
  readonly processes: number
  readonly onConflict?: "merge" | "merge-then-retry"
  /** Its row in the parallel-reads table, when not `label`. */
  readonly readsLabel?: string
}

const scenarios: ReadonlyArray<Scenario> = [
  { label: "express 5 + express-session (MemoryStore)", server: "express-memory", processes: 1 },
  {
    label: "express 5 + express-session + connect-redis",
    server: "express-redis",
    processes: 2,
    readsLabel: "express 5 + express-session + connect-redis, 2 processes"
  },
  { label: "effect-session (memory store)", server: "effect-memory", processes: 1, onConflict: "merge" },
  {
    label: "effect-session (Redis, onConflict: merge-then-retry)",
    server: "effect-redis",
    processes: 2,
    onConflict: "merge-then-retry",
    readsLabel: "effect-session (Redis), 2 processes"
  },
  {
    label: "effect-session (Redis, default policy: 409 on conflict)",
    server: "effect-redis",
    processes: 2,
    onConflict: "merge"
  }
]

const random = () => Math.random().toString(36).slice(2, 10)

const redisAnswers = () => {
  const url = new URL(REDIS_URL)
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname)
    socket.setTimeout(1000)
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("timeout", () => (socket.destroy(), resolve(false)))
    socket.once("error", () => resolve(false))
  })
}

/** Every server process started, to stop them all at the end whatever happens. */
const children: Array<ChildProcess> = []

/** Starts this script as a server process; gives its URL. */
const start = (scenario: Scenario, secret: string, prefix: string) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: {
        ...process.env,
        RACE_SERVER: scenario.server,
        RACE_SECRET: secret,
        RACE_PREFIX: prefix,
        RACE_ON_CONFLICT: scenario.onConflict ?? "merge"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let output = ""
    const timer = setTimeout(() => reject(new Error(`${scenario.server} did not start:\n${output}`)), 120_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => reject(new Error(`${scenario.server} exited (${code}):\n${output}`)))
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

interface Row {
  readonly label: string
  readonly processes: number
  readonly requests: number
  readonly ok: number
  readonly conflicts: number
  readonly other: number
  readonly final: number
  readonly lost: number
}

interface Started {
  readonly scenario: Scenario
  readonly urls: ReadonlyArray<string>
}

const run = async ({ scenario, urls }: Started): Promise<Row> => {
  const started = await fetch(`${urls[0]}/start`, { method: "POST" })
  const cookie = started.headers.getSetCookie()[0]!.split(";")[0]!
  // all at once, spread over the processes in turn
  const statuses = await Promise.all(
    Array.from(
      { length: REQUESTS },
      (_, i) =>
        fetch(`${urls[i % urls.length]}/counter`, { method: "POST", headers: { cookie } }).then(async (r) => {
          await r.arrayBuffer()
          return r.status
        })
    )
  )
  const final = Number(await (await fetch(`${urls[0]}/counter`, { headers: { cookie } })).text())
  const ok = statuses.filter((s) => s === 200).length
  const conflicts = statuses.filter((s) => s === 409).length
  return {
    label: scenario.label,
    processes: scenario.processes,
    requests: REQUESTS,
    ok,
    conflicts,
    other: REQUESTS - ok - conflicts,
    final,
    lost: ok - final
  }
}

interface ReadsRow {
  readonly ok: number
  /** milliseconds from sending the first request to the last answer */
  readonly last: number
}

const runReads = async ({ urls }: Started): Promise<ReadsRow> => {
  const started = await fetch(`${urls[0]}/start`, { method: "POST" })
  const cookie = started.headers.getSetCookie()[0]!.split(";")[0]!
  const t0 = performance.now()
  const statuses = await Promise.all(
    Array.from({ length: READS }, (_, i) =>
      // spread over the processes in turn, as a load balancer would
      fetch(`${urls[i % urls.length]}/me`, { headers: { cookie } }).then(async (r) => {
        await r.arrayBuffer()
        return r.status
      }))
  )
  return { ok: statuses.filter((s) => s === 200).length, last: Math.round(performance.now() - t0) }
}

const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
}

const main = async () => {
  const redis = await redisAnswers()
  const runnable = scenarios.filter((scenario) => redis || !scenario.server.endsWith("redis"))
  try {
    // every server up front (they start in parallel); the races then run one after the other
    const started = await Promise.all(runnable.map(async (scenario): Promise<Started> => {
      const secret = `race secret, 32 bytes or more: ${random()}${random()}`
      const prefix = `effect-session-race:${random()}:`
      const urls = await Promise.all(Array.from({ length: scenario.processes }, () => start(scenario, secret, prefix)))
      return { scenario, urls }
    }))
    console.log(
      `lost-update race: ${REQUESTS} concurrent POST /counter of one session; each handler reads the count, waits ${GAP_MS} ms (a stand-in for a database call), then writes count + 1`
    )
    console.log("")
    const rows: Array<ReadonlyArray<string>> = [[
      "server",
      "processes",
      "requests",
      "200",
      "409",
      "final count",
      "lost"
    ]]
    for (const scenario of scenarios) {
      const ready = started.find((s) => s.scenario === scenario)
      if (ready === undefined) {
        rows.push([scenario.label, String(scenario.processes), "-", "-", "-", "-", `skipped: no Redis at ${REDIS_URL}`])
        continue
      }
      const row = await run(ready)
      rows.push([
        row.label,
        String(row.processes),
        String(row.requests),
        String(row.ok),
        String(row.conflicts),
        String(row.final),
        String(row.lost)
      ])
      if (row.other > 0) console.log(`(${row.label}: ${row.other} answers other than 200 or 409)`)
    }
    for (const line of table(rows)) console.log(line)
    console.log("")
    console.log("lost: requests answered 200 whose increment is missing from the final count")
    console.log("")
    console.log(
      `parallel reads: ${READS} GET /me of one session at once, each reading the session then doing ${READ_WORK_MS} ms of other work`
    )
    console.log("")
    const readRows: Array<ReadonlyArray<string>> = [["server", "requests", "200", "last answer ms", "x one request"]]
    // one row per server (the two effect-session Redis rows differ only in their conflict policy,
    // which readers never meet)
    const readers = started.filter((s, i) => started.findIndex((t) => t.scenario.server === s.scenario.server) === i)
    for (const ready of readers) {
      const row = await runReads(ready)
      readRows.push([
        ready.scenario.readsLabel ?? ready.scenario.label,
        String(READS),
        String(row.ok),
        String(row.last),
        (row.last / READ_WORK_MS).toFixed(1)
      ])
    }
    for (const line of table(readRows)) console.log(line)
  } finally {
    await Promise.all(children.map(stop))
  }
}

switch (process.env.RACE_SERVER) {
  case "express-memory":
    expressServer("memory")
    break
  case "express-redis":
    expressServer("redis")
    break
  case "effect-memory":
    effectServer("memory")
    break
  case "effect-redis":
    effectServer("redis")
    break
  default:
    main().catch((error) => {
      console.error(error)
      process.exit(1)
    })
}
