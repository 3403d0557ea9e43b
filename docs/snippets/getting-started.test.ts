/**
 * Runs the two programs of docs/getting-started.md as a user would (`npx tsx file.ts`) and talks to
 * them over HTTP.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { spawnUntil, tsx } from "../../test/utils/spawn.js"

const start = async (file: string) => {
  const started = await spawnUntil(tsx, [path.join(import.meta.dirname, file)], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      SESSION_SECRET: "a test secret of at least 32 bytes and not a real one",
      SESSION_COOKIE_SECURE: "false"
    }
  })
  return { base: started.groups[0]!, stop: started.stop }
}

const sessionCookie = (response: Response) => {
  const line = response.headers.getSetCookie().find((c) => c.startsWith("session="))
  return line?.split(";")[0]
}

describe("docs/getting-started.md", () => {
  it("the HttpRouter counter counts per session", { timeout: 60_000 }, async () => {
    const server = await start("getting-started.ts")
    try {
      const read = await fetch(`${server.base}/counter`)
      expect(await read.text()).toBe("0")
      expect(read.headers.getSetCookie()).toEqual([])
      const first = await fetch(`${server.base}/counter`, { method: "POST" })
      expect(await first.text()).toBe("1")
      const cookie = sessionCookie(first)!
      expect(first.headers.getSetCookie()[0]).toMatch(/HttpOnly; SameSite=Lax/)
      const second = await fetch(`${server.base}/counter`, { method: "POST", headers: { cookie } })
      expect(await second.text()).toBe("2")
      expect(await (await fetch(`${server.base}/counter`, { headers: { cookie } })).text()).toBe("2")
    } finally {
      await server.stop()
    }
  })

  it("the HttpApi app logs in (new id), guards /me, logs out", { timeout: 60_000 }, async () => {
    const server = await start("getting-started-api.ts")
    try {
      expect((await fetch(`${server.base}/me`)).status).toBe(401)
      const login = await fetch(`${server.base}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "alice" })
      })
      expect(login.status).toBe(204)
      const cookie = sessionCookie(login)!
      const me = await fetch(`${server.base}/me`, { headers: { cookie } })
      expect(await me.json()).toBe("alice")
      const logout = await fetch(`${server.base}/logout`, { method: "POST", headers: { cookie } })
      expect(logout.status).toBe(204)
      expect(logout.headers.getSetCookie()[0]).toMatch(/^session=; Max-Age=0/)
      expect((await fetch(`${server.base}/me`, { headers: { cookie } })).status).toBe(401)
    } finally {
      await server.stop()
    }
  })
})
