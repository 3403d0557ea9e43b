/**
 * Child processes for tests: start a program, wait until its output shows it is ready, stop it.
 * Every test that starts a server (an example, the packed library, the browser test) goes through it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"

export const root = path.resolve(import.meta.dirname, "..", "..")
export const tsx = path.join(root, "node_modules", ".bin", "tsx")

/** The line a server prints once it listens (`HttpServer.withLogAddress`). */
export const LISTENING = /Listening on (http:\/\/[\d.]+:\d+)/

export interface Started {
  readonly child: ChildProcess
  /** The first group of each pattern's match, in order. */
  readonly groups: ReadonlyArray<string>
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/**
 * Spawns `command args` and resolves once its output (stdout and stderr) matches every pattern; a
 * process that exits first, or takes longer than `timeoutMs`, is stopped and rejects with its output.
 */
export const spawnUntil = async (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {},
  patterns: ReadonlyArray<RegExp> = [LISTENING]
): Promise<Started> => {
  const child = spawn(command, [...args], {
    cwd: options.cwd ?? root,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const name = path.basename(args[0] ?? command)
  try {
    const groups = await new Promise<Array<string>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not start:\n${output}`)),
        options.timeoutMs ?? 60_000
      )
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        const matches = patterns.map((p) => p.exec(output))
        if (matches.every((m) => m !== null)) {
          clearTimeout(timer)
          resolve(matches.map((m) => m![1] ?? m![0]))
        }
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.once("exit", (code) => reject(new Error(`${name} exited (${code}):\n${output}`)))
    })
    return { child, groups, output: () => output, stop: () => stopChild(child) }
  } catch (error) {
    await stopChild(child)
    throw error
  }
}

/** Runs `tsx examples/<script>` with HOST=127.0.0.1 and PORT=0 (a free port) until it is ready. */
export const spawnExample = (
  script: string,
  env: Record<string, string> = {},
  patterns: ReadonlyArray<RegExp> = [LISTENING]
): Promise<Started> =>
  spawnUntil(tsx, [path.join(root, script)], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env }
  }, patterns)
