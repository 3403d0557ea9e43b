/**
 * vitest global setup: the servers the store tests need, for `npm test` on a fresh clone.
 *
 * - The variables the tests read (`REDIS_URL`, `REDIS_CLUSTER_NODES`, `DATABASE_URL`, `MYSQL_URL`, whatever
 *   `scripts/services.sh env` prints) all given already: they are used as they are and nothing is
 *   started (your own servers, or the ones `npm run services:start` left running).
 * - Otherwise `bash scripts/services.sh start` starts Redis, a Redis Cluster, PostgreSQL and MariaDB on
 *   loopback ports (it installs the Debian packages when they are missing and it can: as root, or
 *   with sudo), and the variables it prints are set here, before vitest starts its workers, which
 *   inherit them. A variable given in the environment wins over the script's.
 * - At the end, the servers are stopped if this run started them (`scripts/services.sh stop`);
 *   servers that were already running are left running.
 *
 * When a server cannot be had, the run fails here with the script's message (what is missing and
 * how to get it): the store tests never skip.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const script = path.join(root, "scripts", "services.sh")

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `bash scripts/services.sh <command>`; its progress (stderr) is shown as it comes. */
const services = (command: string, echo: boolean): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn("bash", [script, command], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      if (echo) process.stderr.write(chunk)
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** The `export NAME=value` lines of `scripts/services.sh env`. */
const parseEnv = (text: string): ReadonlyArray<readonly [string, string]> =>
  Array.from(text.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm), (m) => [m[1]!, m[2]!] as const)

const howTo = (names: ReadonlyArray<string>) =>
  `To get them: on Debian run npm test as root or with sudo (the script then installs redis-server, ` +
  `redis-tools, postgresql and mariadb-server with apt-get), or install those packages yourself; if a ` +
  `port is taken, move the servers with SERVICES_REDIS_PORT, SERVICES_CLUSTER_PORTS, SERVICES_PG_PORT, ` +
  `SERVICES_MARIADB_PORT; or point the ` +
  `tests at servers of your own by setting ${names.join(", ")}.`

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const env = await services("env", false)
  if (env.code !== 0) throw new Error(`bash scripts/services.sh env failed:\n${env.stderr}`)
  const variables = parseEnv(env.stdout)
  if (variables.length === 0) throw new Error("bash scripts/services.sh env printed no variables")
  const names = variables.map(([name]) => name)

  if (names.every((name) => process.env[name] !== undefined && process.env[name] !== "")) {
    console.error(`[services] using the servers given by ${names.join(", ")}; starting none`)
    return undefined
  }

  const wasRunning = (await services("status", false)).code === 0
  const start = await services("start", true)
  if (start.code !== 0) {
    if (!wasRunning) await services("stop", false) // whatever came up before the failure
    const reason = start.stderr.split("\n").filter((l) => l.includes("error:")).join("\n") || start.stderr.trim()
    throw new Error(
      `npm test needs Redis, a Redis Cluster and PostgreSQL, and \`bash scripts/services.sh start\` could not ` +
        `start them:\n${reason}\n${howTo(names)}`
    )
  }
  for (const [name, value] of variables) {
    if (process.env[name] === undefined || process.env[name] === "") process.env[name] = value
  }
  if (wasRunning) return undefined
  return async () => {
    const stop = await services("stop", true)
    if (stop.code !== 0) console.error(`[services] bash scripts/services.sh stop failed:\n${stop.stderr}`)
  }
}
