/**
 * Real database servers that a test owns: started on a free loopback port in a temporary
 * directory, stopped (killed by pid) and started again on the same data, to inject faults without
 * disturbing the shared servers of scripts/services.sh. The binaries are the ones services.sh
 * installs from Debian (redis-server, PostgreSQL).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
    server.on("error", reject)
  })

const waitFor = async (check: () => Promise<boolean>, what: string, ms = 30_000) => {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} did not come up`)
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

export interface OwnedServer {
  readonly port: number
  readonly pid: () => number | undefined
  readonly start: () => Promise<void>
  /** Kills the server process by pid: a crash, not a clean shutdown. */
  readonly kill: () => Promise<void>
  readonly dispose: () => Promise<void>
}

const killAndWait = (child: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    process.kill(child.pid!, "SIGKILL")
  })

/** A Redis server with an append-only file (fsync always): what it acknowledged survives a kill. */
export const redisServer = async (): Promise<OwnedServer> => {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-session-redis-"))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      ""
    ], { stdio: "ignore" })
    await waitFor(() => answers(port), `redis on ${port}`)
  }
  await start()
  return {
    port,
    pid: () => child?.pid,
    start,
    kill: () => killAndWait(child),
    dispose: async () => {
      await killAndWait(child)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

const pgBin = () => {
  const versions = fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))
  for (const v of versions) {
    const bin = `/usr/lib/postgresql/${v}/bin`
    if (fs.existsSync(`${bin}/initdb`)) return bin
  }
  throw new Error("no PostgreSQL binaries under /usr/lib/postgresql (run scripts/services.sh start)")
}

const asPostgres = (args: ReadonlyArray<string>) =>
  process.getuid?.() === 0
    ? ["runuser", ["-u", "postgres", "--", ...args]] as const
    : [args[0]!, args.slice(1)] as const

/** A PostgreSQL server of its own (trust auth on 127.0.0.1, user postgres, database postgres). */
export const postgresServer = async (): Promise<OwnedServer> => {
  const port = await freePort()
  const bin = pgBin()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-session-pg-"))
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres:", dir])
  const [cmd, args] = asPostgres([
    `${bin}/initdb`,
    "-D",
    dir,
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--locale=C",
    "--auth=trust"
  ])
  execFileSync(cmd, [...args], { stdio: "ignore", cwd: "/" })
  fs.appendFileSync(
    path.join(dir, "postgresql.conf"),
    `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = ''\nfsync = off\n`
  )
  let child: ChildProcess | undefined
  const start = async () => {
    const [c, a] = asPostgres([`${bin}/postgres`, "-D", dir])
    child = spawn(c, [...a], { stdio: "ignore", cwd: "/" })
    await waitFor(() => answers(port), `postgres on ${port}`)
    // accepting connections, not only the socket
    await new Promise((r) => setTimeout(r, 300))
  }
  await start()
  // runuser forks: the pid to kill is the postmaster's, from its pid file
  const postmaster = () => {
    try {
      return Number(fs.readFileSync(path.join(dir, "postmaster.pid"), "utf8").split("\n")[0])
    } catch {
      return undefined
    }
  }
  const kill = async () => {
    const pid = postmaster()
    if (pid !== undefined) {
      try {
        // immediate shutdown: the postmaster and its backends stop at once, and recover on restart
        process.kill(pid, "SIGQUIT")
      } catch {
        // already gone
      }
    }
    await waitFor(async () => !(await answers(port)), `postgres on ${port} to stop`)
    await killAndWait(child)
  }
  return {
    port,
    pid: postmaster,
    start,
    kill,
    dispose: async () => {
      await kill()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
