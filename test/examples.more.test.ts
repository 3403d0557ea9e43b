/**
 * The examples of examples/ beyond the quick start and the example server, each run as a user
 * would (`tsx examples/<name>.ts`, servers on PORT=0) and checked by its output or over HTTP; and
 * the lost-update race demo (`npm run demo:race`). The multi-instance example and the race demo need
 * Redis (REDIS_URL, default redis://127.0.0.1:6390, as `npm run services:start` runs it): without
 * it they fail, they do not skip.
 */
import { execFile } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterEach, describe, expect, it } from "vitest"
import { keepCookies } from "./utils/http.js"
import { LISTENING, root, spawnExample as spawnExampleOnce, type Started, tsx } from "./utils/spawn.js"

const run = promisify(execFile)
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6390"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// processes
// ---------------------------------------------------------------------------------------------

const running = new Set<Started>()

afterEach(async () => {
  await Promise.all(Array.from(running, (server) => server.stop()))
  running.clear()
})

/** Spawns `tsx <script>` (stopped after the test) and waits until its output matches every pattern. */
const spawnExample = async (
  script: string,
  env: Record<string, string>,
  patterns: ReadonlyArray<RegExp> = [LISTENING]
) => {
  const server = await spawnExampleOnce(script, env, patterns)
  running.add(server)
  return server
}

const redisAnswers = () => {
  const url = new URL(REDIS_URL)
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname)
    socket.setTimeout(2000)
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("timeout", () => (socket.destroy(), resolve(false)))
    socket.once("error", () => resolve(false))
  })
}

const requireRedis = async () => {
  if (!(await redisAnswers())) {
    throw new Error(`Redis does not answer at ${REDIS_URL}: start it with \`npm run services:start\``)
  }
}

// ---------------------------------------------------------------------------------------------
// a fetch client with a cookie jar
// ---------------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly text: string
  readonly json: () => any
  readonly headers: Headers
  readonly setCookies: ReadonlyArray<string>
}

const client = () => {
  const jar = new Map<string, string>()
  const call = async (
    method: string,
    url: string,
    body?: { readonly json?: unknown; readonly form?: Record<string, string> }
  ): Promise<Reply> => {
    const headers: Record<string, string> = {}
    if (jar.size > 0) headers.cookie = Array.from(jar, ([k, v]) => `${k}=${v}`).join("; ")
    let payload: string | undefined
    if (body?.json !== undefined) {
      headers["content-type"] = "application/json"
      payload = JSON.stringify(body.json)
    } else if (body?.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded"
      payload = new URLSearchParams(body.form).toString()
    }
    const response = await fetch(url, {
      method,
      headers,
      redirect: "manual",
      ...(payload === undefined ? {} : { body: payload })
    })
    const setCookies = response.headers.getSetCookie()
    keepCookies(jar, setCookies)
    const text = await response.text()
    return { status: response.status, text, json: () => JSON.parse(text), headers: response.headers, setCookies }
  }
  return {
    jar,
    get: (url: string) => call("GET", url),
    post: (url: string, body?: { readonly json?: unknown; readonly form?: Record<string, string> }) =>
      call("POST", url, body),
    delete: (url: string) => call("DELETE", url)
  }
}

// ---------------------------------------------------------------------------------------------
// HttpRouter and HttpLayerRouter: the shopping cart
// ---------------------------------------------------------------------------------------------

const cartScenario = async (base: string) => {
  const http = client()
  expect((await http.get(`${base}/cart`)).json()).toEqual({ lines: [] })
  expect(http.jar.size).toBe(0) // a read of a new session sets no cookie

  const added = await http.post(`${base}/cart/items`, { json: { sku: "tea", qty: 2 } })
  expect(added.status).toBe(201)
  expect(added.setCookies[0]).toMatch(/^session=.*HttpOnly/)
  expect((await http.post(`${base}/cart/items`, { json: { sku: "tea", qty: 3 } })).json()).toEqual({
    lines: [{ sku: "tea", qty: 5 }]
  })
  // invalid bodies: 400
  expect((await http.post(`${base}/cart/items`, { json: { sku: "TEA!", qty: 1 } })).status).toBe(400)
  expect((await http.post(`${base}/cart/items`, { json: { sku: "tea", qty: 95 } })).status).toBe(400)
  // at most 5 lines: the sixth is refused (409)
  for (const sku of ["a", "b", "c", "d"]) {
    expect((await http.post(`${base}/cart/items`, { json: { sku, qty: 1 } })).status).toBe(201)
  }
  const full = await http.post(`${base}/cart/items`, { json: { sku: "e", qty: 1 } })
  expect(full.status).toBe(409)
  expect(full.json()).toEqual({ error: "a cart holds at most 5 items" })
  const removed = await http.delete(`${base}/cart/items/a`)
  expect(removed.json().lines.map((l: { sku: string }) => l.sku)).toEqual(["tea", "b", "c", "d"])

  // checkout writes (an order, an emptied cart) then pays: declined (402), both writes discarded
  const declined = await http.post(`${base}/checkout`, { json: { card: "4000-0000-0000-0002" } })
  expect(declined.status).toBe(402)
  expect((await http.get(`${base}/cart`)).json().lines).toHaveLength(4)
  expect((await http.get(`${base}/orders`)).json()).toEqual({ orders: [] })

  const paid = await http.post(`${base}/checkout`, { json: { card: "4242-4242-4242-4242" } })
  expect(paid.status).toBe(201)
  expect(paid.json().id).toBe("order-1")
  expect((await http.get(`${base}/cart`)).json()).toEqual({ lines: [] })
  expect((await http.get(`${base}/orders`)).json().orders).toHaveLength(1)
  expect((await http.post(`${base}/checkout`, { json: { card: "4242-4242-4242-4242" } })).status).toBe(409)

  // another client has a cart of its own
  expect((await client().get(`${base}/cart`)).json()).toEqual({ lines: [] })
}

describe("examples/http-router.ts", () => {
  it("a shopping cart on HttpRouter + HttpSession.middleware", async () => {
    const server = await spawnExample("examples/http-router.ts", {})
    await cartScenario(server.groups[0]!)
    await server.stop()
  }, 90_000)
})

describe("examples/http-layer-router.ts", () => {
  it("the same cart on HttpLayerRouter + HttpSession.layerRouter", async () => {
    const server = await spawnExample("examples/http-layer-router.ts", {})
    await cartScenario(server.groups[0]!)
    await server.stop()
  }, 90_000)
})

// ---------------------------------------------------------------------------------------------
// HttpApi: login / logout, a protected group
// ---------------------------------------------------------------------------------------------

describe("examples/http-api.ts", () => {
  it("login regenerates the id, the protected group answers 401 without a user, logout destroys", async () => {
    const server = await spawnExample("examples/http-api.ts", {})
    const base = server.groups[0]!
    const http = client()

    const anonymous = await http.get(`${base}/notes`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.json()).toEqual({ _tag: "Unauthorized", message: "log in first" })
    expect((await http.post(`${base}/login`, { json: { user: "alice", password: "nope" } })).status).toBe(401)
    expect(http.jar.size).toBe(0) // a refused login leaves no session

    const login = await http.post(`${base}/login`, { json: { user: "alice", password: "wonderland" } })
    expect(login.status).toBe(200)
    expect(login.json()).toEqual({ user: "alice" })
    const first = http.jar.get("session")!
    expect(first).toBeDefined()
    expect((await http.get(`${base}/me`)).json()).toEqual({ user: "alice" })

    expect((await http.post(`${base}/notes`, { json: { text: "buy milk" } })).status).toBe(201)
    expect((await http.post(`${base}/notes`, { json: { text: "" } })).status).toBe(400)
    expect((await http.get(`${base}/notes`)).json()).toEqual(["buy milk"])

    // logging in again (another user) moves the session to a new id; the old id is gone
    expect((await http.post(`${base}/login`, { json: { user: "bob", password: "builder" } })).status).toBe(200)
    const second = http.jar.get("session")!
    expect(second).not.toBe(first)
    expect((await http.get(`${base}/me`)).json()).toEqual({ user: "bob" })
    const stale = await fetch(`${base}/me`, { headers: { cookie: `session=${first}` } })
    expect(stale.status).toBe(401)

    const logout = await http.post(`${base}/logout`)
    expect(logout.status).toBe(204)
    expect(logout.setCookies[0]).toMatch(/^session=; Max-Age=0/)
    expect(http.jar.size).toBe(0)
    expect((await http.get(`${base}/notes`)).status).toBe(401)
    const replayed = await fetch(`${base}/notes`, { headers: { cookie: `session=${second}` } })
    expect(replayed.status).toBe(401)
    await server.stop()
  }, 90_000)
})

// ---------------------------------------------------------------------------------------------
// savepoints in a multi-step form
// ---------------------------------------------------------------------------------------------

describe("examples/multi-step-form.ts", () => {
  it(
    "prints the wizard's trace: steps rolled back to their savepoints, nested transactions, back, cancel",
    async () => {
      const { stdout } = await run(tsx, [path.join(root, "examples", "multi-step-form.ts")], {
        cwd: root,
        timeout: 60_000
      })
      const done =
        "step=3 account={\"email\":\"ada@example.org\"} address={\"street\":\"12 Engine Street\",\"zip\":\"10002\"} plan={\"plan\":\"team\",\"seats\":5} answers={\"email\":\"ada@example.org\",\"street\":\"12 Engine Street\",\"zip\":\"10002\",\"plan\":\"team\",\"seats\":\"5\"}"
      expect(stdout.trim().split("\n")).toEqual([
        "wizard 1 (one unit of work)",
        "  step 1 account: ok",
        "  step 2 address: invalid (street: required, zip: five digits), rolled back to the savepoint of step 2",
        "    step=1 account={\"email\":\"ada@example.com\"} address=- plan=- answers={\"email\":\"ada@example.com\"}",
        "  step 2 address: ok",
        "  step 3 plan (nested transaction): invalid (plan: free, pro or team, seats: 1 to 50), rolled back",
        "    step=2 account={\"email\":\"ada@example.com\"} address={\"street\":\"1 Analytical Row\",\"zip\":\"10001\"} plan=- answers={\"email\":\"ada@example.com\",\"street\":\"1 Analytical Row\",\"zip\":\"10001\"}",
        "  step 3 plan (nested transaction): ok",
        "  back to step 2: step=1 account={\"email\":\"ada@example.com\"} address=- plan=- answers={\"email\":\"ada@example.com\"}",
        "  back to step 1: step=- account=- address=- plan=- answers=-",
        "  the savepoint of step 2, taken after step 1's, is now invalid: SessionStateError (InvalidSavepoint)",
        "  step 1 account: ok",
        "  step 2 address: ok",
        "  step 3 plan (nested transaction): ok",
        "  finish: commit",
        `saved: ${done}`,
        "wizard 2 (one unit of work)",
        "  step 1 account: ok",
        "  cancel: the unit fails, nothing of it is saved",
        `saved: ${done}`
      ])
    },
    90_000
  )
})

// ---------------------------------------------------------------------------------------------
// SessionTimeout -> redirect to the login page
// ---------------------------------------------------------------------------------------------

describe("examples/session-timeout.ts", () => {
  it(
    "an idle session is kept alive by visits, and after the idle timeout /account redirects to /login?expired=1",
    async () => {
      const server = await spawnExample("examples/session-timeout.ts", { SESSION_IDLE_TIMEOUT: "2 seconds" })
      const base = server.groups[0]!
      const http = client()

      const anonymous = await http.get(`${base}/account`)
      expect(anonymous.status).toBe(302)
      expect(anonymous.headers.get("location")).toBe("/login")
      const login = await http.post(`${base}/login`, { form: { user: "alice" } })
      expect(login.status).toBe(303)
      expect(login.headers.get("location")).toBe("/account")
      expect((await http.get(`${base}/account`)).text).toBe("Hello alice, visit 1")
      // each visit writes the session, which moves the idle deadline: 2.4 s after login, still alive
      await sleep(800)
      expect((await http.get(`${base}/account`)).text).toBe("Hello alice, visit 2")
      await sleep(800)
      expect((await http.get(`${base}/account`)).text).toBe("Hello alice, visit 3")
      await sleep(800)
      expect((await http.get(`${base}/account`)).text).toBe("Hello alice, visit 4")

      // idle for longer than the timeout: SessionTimeout -> 302 /login?expired=1
      await sleep(2_600)
      const expired = await http.get(`${base}/account`)
      expect(expired.status).toBe(302)
      expect(expired.headers.get("location")).toBe("/login?expired=1")
      const page = await http.get(`${base}/login?expired=1`)
      expect(page.text).toContain("Your session expired")
      expect(server.output()).toContain("session expired (Idle)")

      // logging in again starts over
      await http.post(`${base}/login`, { form: { user: "alice" } })
      expect((await http.get(`${base}/account`)).text).toBe("Hello alice, visit 1")
      await server.stop()
    },
    90_000
  )
})

// ---------------------------------------------------------------------------------------------
// two instances sharing Redis
// ---------------------------------------------------------------------------------------------

describe("examples/multi-instance.ts", () => {
  it(
    "a login on instance a is recognised on instance b; a counter written on both ends at the right value",
    async () => {
      await requireRedis()
      const launcher = await spawnExample(
        "examples/multi-instance.ts",
        { PORT_A: "0", PORT_B: "0", REDIS_URL },
        [/instance a: (http:\/\/[\d.]+:\d+)/, /instance b: (http:\/\/[\d.]+:\d+)/]
      )
      const [a, b] = launcher.groups as [string, string]
      const pids = Array.from(launcher.output().matchAll(/\(pid (\d+)\)/g), (m) => Number(m[1]))
      expect(pids).toHaveLength(2)
      const http = client()

      const login = await http.post(`${a}/login`, { form: { user: "alice" } })
      expect(login.json()).toEqual({ instance: "a", user: "alice", count: 0 })
      expect(login.headers.get("x-instance")).toBe("a")
      const onB = await http.get(`${b}/whoami`)
      expect(onB.json()).toEqual({ instance: "b", user: "alice", count: 0 })
      // a client without the cookie is nobody on either
      expect((await client().get(`${b}/whoami`)).json().user).toBe(null)

      // one after the other, alternately on a and b
      for (let i = 1; i <= 10; i++) {
        const reply = await http.post(`${i % 2 === 1 ? a : b}/counter`)
        expect(reply.json()).toMatchObject({ instance: i % 2 === 1 ? "a" : "b", count: i })
      }
      // at the same time on both: compare-and-set + merge-then-retry, every increment kept
      const cookie = `session=${http.jar.get("session")!}`
      const concurrent = await Promise.all(
        Array.from(
          { length: 40 },
          (_, i) =>
            fetch(`${i % 2 === 0 ? a : b}/counter`, { method: "POST", headers: { cookie } }).then((r) => r.status)
        )
      )
      expect(concurrent).toEqual(Array.from({ length: 40 }, () => 200))
      expect((await http.get(`${a}/whoami`)).json().count).toBe(50)
      expect((await http.get(`${b}/whoami`)).json().count).toBe(50)

      // log out on b: gone on a too
      expect((await http.post(`${b}/logout`)).json()).toEqual({ instance: "b", user: null, count: 0 })
      expect((await fetch(`${a}/whoami`, { headers: { cookie } }).then((r) => r.json())).user).toBe(null)

      // stopping the launcher stops both instances
      await launcher.stop()
      await sleep(500)
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
    },
    120_000
  )
})

// ---------------------------------------------------------------------------------------------
// npm run demo:race
// ---------------------------------------------------------------------------------------------

describe("scripts/race.ts (npm run demo:race)", () => {
  it("express-session loses updates; effect-session loses none, on one process and on two sharing Redis", async () => {
    await requireRedis()
    const { stdout } = await run(tsx, [path.join(root, "scripts", "race.ts")], {
      cwd: root,
      timeout: 180_000,
      env: { ...process.env, RACE_REQUESTS: "40", REDIS_URL }
    })
    const rows = new Map(
      stdout.split("\n").flatMap((line) => {
        const m = /^(\S.*?)\s{2,}(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)$/.exec(line)
        return m === null ? [] : [
          [m[1]!, { processes: +m[2]!, requests: +m[3]!, ok: +m[4]!, conflicts: +m[5]!, final: +m[6]!, lost: +m[7]! }]
        ] as const
      })
    )
    expect([...rows.keys()]).toEqual([
      "express 5 + express-session (MemoryStore)",
      "express 5 + express-session + connect-redis",
      "effect-session (memory store)",
      "effect-session (Redis, onConflict: merge-then-retry)",
      "effect-session (Redis, default policy: 409 on conflict)"
    ])
    const express = rows.get("express 5 + express-session (MemoryStore)")!
    expect(express.ok).toBe(40)
    expect(express.final).toBeLessThan(40)
    expect(express.lost).toBeGreaterThan(0)
    expect(rows.get("effect-session (memory store)")).toEqual({
      processes: 1,
      requests: 40,
      ok: 40,
      conflicts: 0,
      final: 40,
      lost: 0
    })
    expect(rows.get("effect-session (Redis, onConflict: merge-then-retry)")).toEqual({
      processes: 2,
      requests: 40,
      ok: 40,
      conflicts: 0,
      final: 40,
      lost: 0
    })
    const merge = rows.get("effect-session (Redis, default policy: 409 on conflict)")!
    expect(merge.ok + merge.conflicts).toBe(40)
    expect(merge.final).toBe(merge.ok)
    expect(merge.lost).toBe(0)
    // the parallel-reads table: every read answered (its times are a benchmark's, not asserted here;
    // test/concurrency.readers.test.ts checks that readers run together)
    const reads = new Map(
      stdout.split("\n").flatMap((line) => {
        const m = /^(\S.*?)\s{2,}(\d+)\s+(\d+)\s+(\d+)\s+(\d+\.\d)$/.exec(line)
        return m === null ? [] : [[m[1]!, { requests: +m[2]!, ok: +m[3]! }]] as const
      })
    )
    expect([...reads.keys()]).toEqual([
      "express 5 + express-session (MemoryStore)",
      "express 5 + express-session + connect-redis, 2 processes",
      "effect-session (memory store)",
      "effect-session (Redis), 2 processes"
    ])
    for (const row of reads.values()) expect(row).toEqual({ requests: 6, ok: 6 })
  }, 200_000)
})
