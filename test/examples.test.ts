import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { root, spawnExample, tsx } from "./utils/spawn.js"

const run = promisify(execFile)

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

describe("examples/server.ts (npm start)", () => {
  it("serves the history, transactional, counter, login/logout routes and the page", async () => {
    const started = await spawnExample("examples/server.ts")
    const server = { base: started.groups[0]!, output: started.output, stop: started.stop }
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
