/**
 * `npm run bench:memory`: heap bytes per session, through the HTTP layer.
 *
 * Each server (the same entry points as `npm run bench`) runs in its own process with `--expose-gc`
 * and an IPC channel. This script sends it N requests `POST /counter` without a cookie over real
 * HTTP (127.0.0.1, keep-alive, 16 at a time): each makes a new session holding `{ count: 1 }`. The
 * server reports its heap after full collections before and after (see bench/servers/inspect.ts),
 * and how many sessions its store holds; bytes per session = heap growth / sessions added.
 *
 * Flags: `--sessions=N` (default 100 000), `--only=name,name`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"

import { build, codeState, compiled } from "./build.js"

const ROOT = path.resolve(import.meta.dirname, "..")

const flag = (name: string) => process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.split("=")[1]
const N = Number(flag("sessions") ?? 100_000)
const only = flag("only")?.split(",")
const WARMUP = 2_000
const CONCURRENCY = 16

interface Target {
  readonly name: string
  readonly description: string
  readonly server: readonly [string, string]
}

const TARGETS: ReadonlyArray<Target> = [
  { name: "effect-session memory", description: "SessionStore.layerMemory", server: ["effect.ts", "memory"] },
  { name: "express-session MemoryStore", description: "express 5 + express-session", server: ["express.ts", "memory"] },
  {
    name: "@fastify/session memory",
    description: "fastify 5 + @fastify/session default store",
    server: ["fastify.ts", "session"]
  }
]

interface Heap {
  readonly heapUsed: number
  readonly external: number
  readonly rss: number
  readonly sessions: number
}

const start = (target: Target) =>
  new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", compiled(`bench/servers/${target.server[0]}`), target.server[1]],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit", "ipc"], env: { ...process.env, NODE_ENV: "production" } }
    )
    let out = ""
    child.stdout!.on("data", (chunk) => {
      out += chunk
      const match = /LISTENING (\d+)/.exec(out)
      if (match) resolve({ child, port: Number(match[1]) })
    })
    child.once("exit", (code) => reject(new Error(`${target.name}: exited with ${code}`)))
  })

const heap = (child: ChildProcess) =>
  new Promise<Heap>((resolve, reject) => {
    child.once("message", (m: any) => (m.error ? reject(new Error(m.error)) : resolve(m)))
    child.send("heap")
  })

/** `count` requests POST /counter without a cookie, CONCURRENCY at a time; each must answer 200 "1". */
const drive = async (port: number, count: number) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  let failures = 0
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/counter", agent }, (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => (body += chunk))
        res.on("end", () => {
          if (res.statusCode !== 200 || body !== "1" || res.headers["set-cookie"] === undefined) failures++
          resolve()
        })
      })
      req.once("error", reject)
      req.end()
    })
  const worker = async () => {
    while (next < count) {
      next++
      await one()
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  agent.destroy()
  if (failures > 0) throw new Error(`${failures} requests did not make a session`)
}

const main = async () => {
  build()
  const rows: Array<Record<string, unknown>> = []
  for (const target of TARGETS) {
    if (only !== undefined && !only.some((o) => target.name.includes(o))) continue
    const { child, port } = await start(target)
    try {
      await drive(port, WARMUP)
      const before = await heap(child)
      const t0 = performance.now()
      await drive(port, N)
      const seconds = (performance.now() - t0) / 1000
      const after = await heap(child)
      const added = after.sessions - before.sessions
      const perSession = (after.heapUsed - before.heapUsed) / added
      rows.push({
        name: target.name,
        description: target.description,
        sessionsAdded: added,
        heapBefore: before.heapUsed,
        heapAfter: after.heapUsed,
        bytesPerSession: perSession,
        externalPerSession: (after.external - before.external) / added,
        seconds
      })
      console.error(
        `[memory] ${target.name}: ${added} sessions added in ${seconds.toFixed(1)} s, ` +
          `${perSession.toFixed(0)} heap bytes per session`
      )
    } finally {
      child.kill("SIGTERM")
      setTimeout(() => child.kill("SIGKILL"), 3000).unref()
    }
  }
  const base = rows.find((r) => r.name === "express-session MemoryStore")?.bytesPerSession as number | undefined
  const table = [
    "| store | sessions added | heap bytes / session | vs express-session |",
    "|---|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.name} | ${(r.sessionsAdded as number).toLocaleString("en-US")} | ${
        Math.round(r.bytesPerSession as number)
      } | ${base === undefined ? "" : ((r.bytesPerSession as number) / base).toFixed(2)} |`
    )
  ].join("\n")
  const note =
    `- ${new Date().toISOString()}; code ${codeState()}; ${os.availableParallelism()} cores (${
      os.cpus()[0]?.model
    }), Node ${process.version}. ` +
    `Each server in its own process (--expose-gc); ${N.toLocaleString("en-US")} POST /counter without a cookie over ` +
    `HTTP on 127.0.0.1 (keep-alive, ${CONCURRENCY} at a time) after ${WARMUP} warm-up sessions; heapUsed after 4 full GCs, ` +
    `before and after; each session holds { count: 1 }.`
  console.log(`\n${table}\n\n${note}`)
  if (only === undefined) {
    mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true })
    writeFileSync(
      path.join(ROOT, "bench", "results", "memory.md"),
      `# Heap per session (npm run bench:memory)\n\n${table}\n\n${note}\n`
    )
    writeFileSync(
      path.join(ROOT, "bench", "results", "memory.json"),
      JSON.stringify({ sessions: N, rows }, null, 2) + "\n"
    )
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
