/**
 * For bench:memory and bench/profile.ts: a server started with an IPC channel answers
 *
 * - `"heap"`: its heap after full garbage collections (it must run with `--expose-gc`) and how many
 *   sessions its store holds;
 * - `{ profile: "start", interval }` / `{ profile: "stop", file }`: V8's CPU profiler (the one behind
 *   `node --cpu-prof`), started and stopped around the measured load only, the profile written to
 *   `file` as a .cpuprofile.
 *
 * Without an IPC channel (the throughput benchmark) this does nothing.
 */
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector"

let countSessions: () => number | Promise<number> = () => -1

/** Tells this module how to count the sessions the server's store holds. */
export const setSessionCounter = (count: () => number | Promise<number>): void => {
  countSessions = count
}

const heap = async () => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return { error: "run with --expose-gc" }
  // a few full collections, with turns of the event loop between them for weak callbacks
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const { arrayBuffers, external, heapUsed, rss } = process.memoryUsage()
  return { heapUsed, external, arrayBuffers, rss, sessions: await countSessions() }
}

let inspector: Session | undefined
const post = (method: string, params?: object) =>
  new Promise<any>((resolve, reject) =>
    inspector!.post(method, params, (error, result) => (error ? reject(error) : resolve(result)))
  )

const profile = async (message: { profile: "start"; interval?: number } | { profile: "stop"; file: string }) => {
  if (message.profile === "start") {
    inspector = new Session()
    inspector.connect()
    await post("Profiler.enable")
    await post("Profiler.setSamplingInterval", { interval: message.interval ?? 100 })
    await post("Profiler.start")
    return { started: true }
  }
  const { profile } = await post("Profiler.stop")
  writeFileSync(message.file, JSON.stringify(profile))
  inspector!.disconnect()
  return { written: message.file }
}

if (process.send !== undefined) {
  process.on("message", async (message: any) => {
    const reply = message === "heap" ? await heap() : typeof message === "object" ? await profile(message) : undefined
    if (reply !== undefined) process.send!(reply)
  })
}
