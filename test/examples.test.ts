import { execFile, spawn } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, "..")
const tsx = path.join(root, "node_modules", ".bin", "tsx")

describe("examples", () => {
  it("examples/opentelemetry.ts exports load and commit spans without ids or data", async () => {
    const { stdout } = await run(tsx, [path.join(root, "examples", "opentelemetry.ts")], { cwd: root, timeout: 60_000 })
    expect(stdout).toContain("name: 'effect-session.load'")
    expect(stdout).toContain("'session.outcome': 'created'")
    expect(stdout).toContain("'session.outcome': 'saved'")
    expect(stdout).toContain("cart: apple, pear")
    expect(stdout).toContain("metrics: committed=2 discarded=1")
    expect(stdout).not.toContain("customer-1")
    expect(stdout).not.toMatch(/attributes: \{[^}]*apple/)
  })

  it("examples/workflow.ts (the README's first example) prints 1", async () => {
    const { stdout } = await run(tsx, [path.join(root, "examples", "workflow.ts")], { cwd: root, timeout: 60_000 })
    expect(stdout.trim()).toBe("1")
  })

  it("examples/seed.ts runs the seed's scenarios and prints CromLech", async () => {
    const { stdout } = await run(tsx, [path.join(root, "examples", "seed.ts")], { cwd: root, timeout: 60_000 })
    const lines = stdout.trim().split("\n")
    expect(lines).toEqual([
      "visit /foo: /foo",
      "visit /bar: /foo, /bar",
      "visit /fail: failed (Failed), changes discarded",
      "history now: /foo, /bar",
      "write after the unit closed: SessionStateError: Session's current state disallows writing",
      "CromLech"
    ])
  })
})

/** Starts examples/server.ts on a free port and gives its base URL and a stop function. */
const startServer = async () => {
  const child = spawn(tsx, [path.join(root, "examples", "server.ts")], {
    cwd: root,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000)
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
    child.on("exit", (code) => reject(new Error(`server exited (${code}):\n${output}`)))
  })
  return {
    base,
    output: () => output,
    stop: () => new Promise<void>((resolve) => (child.on("exit", () => resolve()), child.kill("SIGTERM")))
  }
}

describe("examples/server.ts (npm start)", () => {
  it("serves the history, transactional, counter, login/logout routes and the page", async () => {
    const server = await startServer()
    try {
      const jar = new Map<string, string>()
      const call = async (method: string, p: string, body?: string) => {
        const response = await fetch(server.base + p, {
          method,
          redirect: "manual",
          headers: {
            cookie: Array.from(jar, ([k, v]) => `${k}=${v}`).join("; "),
            ...(body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" })
          },
          ...(body === undefined ? {} : { body })
        })
        for (const line of response.headers.getSetCookie()) {
          const [pair] = line.split(";")
          const [name, value] = pair!.split("=") as [string, string]
          if (value === "" || /max-age=0/i.test(line)) jar.delete(name)
          else jar.set(name, value)
        }
        return { status: response.status, text: await response.text(), setCookies: response.headers.getSetCookie() }
      }
      expect((await call("GET", "/history/foo")).text).toBe("/foo")
      expect((await call("GET", "/history/bar")).text).toBe("/foo, /bar")
      expect((await call("GET", "/history/fail")).status).toBe(500)
      expect((await call("GET", "/history/baz")).text).toBe("/foo, /bar, /baz")
      expect((await call("GET", "/transactional")).text).toBe("CromLech")
      const read = await call("GET", "/counter")
      expect(read.text).toBe("0")
      expect(read.setCookies).toEqual([])
      expect((await call("POST", "/counter")).text).toBe("1")
      expect((await call("POST", "/counter")).text).toBe("2")
      const before = jar.get("session")
      expect((await call("POST", "/login", "user=bob")).status).toBe(303)
      expect(jar.get("session")).not.toBe(before)
      const page = await call("GET", "/")
      expect(page.text).toContain("as bob")
      expect(page.text).toContain("<span id=\"count\">2</span>")
      expect((await call("POST", "/logout")).status).toBe(303)
      expect(jar.has("session")).toBe(false)
      expect((await call("GET", "/counter")).text).toBe("0")
      expect(server.output()).toContain("without Secure")
      expect(server.output()).toContain("http.url: /history/foo")
    } finally {
      await server.stop()
    }
  })
})
