/**
 * The example server's page in a real browser: Debian's Chromium driven by playwright-core.
 *
 * Starts examples/server.ts (as `npm start` does) on a free port, then, in a fresh browser profile:
 * visits `/`, counts up across reloads, logs in (the session id changes, the count stays), logs
 * out; checks that the session cookie is HttpOnly (invisible to `document.cookie`) and SameSite=Lax.
 * Screenshots go to .tmp/screenshots (gitignored).
 *
 * Chromium comes from apt (`apt-get install chromium`; .ci/run installs it). Without it the test is
 * skipped on a developer machine and FAILS under CI=true. CHROMIUM_PATH points at another binary.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chromium } from "playwright-core"
import type { BrowserContext, Page } from "playwright-core"
import { describe, expect, it } from "vitest"
import { root, spawnExample } from "./utils/spawn.js"

const screenshots = path.join(root, ".tmp", "screenshots")
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const inCI = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false" &&
  process.env.CI !== "0"
const haveChromium = fs.existsSync(executablePath)

/** Starts examples/server.ts on a free port and gives its base URL and a stop function. */
const startServer = async () => {
  const started = await spawnExample("examples/server.ts")
  return { base: started.groups[0]!, stop: started.stop }
}

const text = async (page: Page, selector: string) => (await page.textContent(selector))?.trim()

/** Clicks a form button and waits for the page that the POST's 303 leads back to. */
const submit = async (page: Page, base: string, selector: string) => {
  const back = page.waitForResponse((r) => r.url() === `${base}/` && r.request().method() === "GET")
  await page.click(selector)
  await back
  await page.waitForLoadState("load")
}

const sessionCookie = async (context: BrowserContext, base: string) =>
  (await context.cookies(base)).find((c) => c.name === "session")

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshots, `${name}.png`) })

describe("examples/server.ts in headless Chromium", () => {
  const run = haveChromium || inCI ? it : it.skip
  run("counts up across reloads, logs in (new id, same data), logs out; the cookie is HttpOnly and SameSite=Lax", {
    timeout: 120_000
  }, async () => {
    if (!haveChromium) {
      throw new Error(`Chromium not found at ${executablePath}: apt-get install chromium (or set CHROMIUM_PATH)`)
    }
    fs.mkdirSync(screenshots, { recursive: true })
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "effect-session-chromium-"))
    const server = await startServer()
    let context: BrowserContext | undefined
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync"
        ]
      })
      const { base } = server
      const page = context.pages()[0] ?? (await context.newPage())

      // a first visit reads the session but writes nothing: no cookie
      await page.goto(`${base}/`)
      expect(await text(page, "#count")).toBe("0")
      expect(await text(page, "#user")).toBe("no")
      expect(await sessionCookie(context, base)).toBeUndefined()
      await shot(page, "01-first-visit")

      // count up; the count survives reloads, the id stays the same
      await submit(page, base, "#increment")
      expect(await text(page, "#count")).toBe("1")
      const cookie = await sessionCookie(context, base)
      expect(cookie).toBeDefined()
      expect(cookie!.httpOnly).toBe(true)
      expect(cookie!.sameSite).toBe("Lax")
      expect(cookie!.path).toBe("/")
      expect(cookie!.expires).toBe(-1) // a browser-session cookie (no Max-Age by default)
      expect(cookie!.secure).toBe(false) // the example turns Secure off for plain-HTTP development
      expect(await page.evaluate(() => document.cookie)).not.toContain("session")
      await page.reload()
      expect(await text(page, "#count")).toBe("1")
      await submit(page, base, "#increment")
      expect(await text(page, "#count")).toBe("2")
      await page.reload()
      expect(await text(page, "#count")).toBe("2")
      const beforeLogin = (await sessionCookie(context, base))!.value
      expect(beforeLogin).toBe(cookie!.value)
      await shot(page, "02-counted")

      // log in: a new id (fixation defence), the data stays
      await page.fill("input[name=user]", "alice")
      await submit(page, base, "#login")
      expect(await text(page, "#user")).toBe("as alice")
      expect(await text(page, "#count")).toBe("2")
      const afterLogin = await sessionCookie(context, base)
      expect(afterLogin).toBeDefined()
      expect(afterLogin!.value).not.toBe(beforeLogin)
      expect(afterLogin!.httpOnly).toBe(true)
      expect(afterLogin!.sameSite).toBe("Lax")
      expect(await page.evaluate(() => document.cookie)).not.toContain("session")
      // the id from before the login is dead: presented again, it is a fresh, empty session
      const stale = await fetch(`${base}/counter`, { headers: { cookie: `session=${beforeLogin}` } })
      expect(await stale.text()).toBe("0")
      await page.reload()
      expect(await text(page, "#user")).toBe("as alice")
      expect(await text(page, "#count")).toBe("2")
      await shot(page, "03-logged-in")

      // log out: the session is gone, and so is its cookie
      await submit(page, base, "#logout")
      expect(await text(page, "#user")).toBe("no")
      expect(await text(page, "#count")).toBe("0")
      expect(await sessionCookie(context, base)).toBeUndefined()
      const gone = await fetch(`${base}/counter`, { headers: { cookie: `session=${afterLogin!.value}` } })
      expect(await gone.text()).toBe("0")
      await shot(page, "04-logged-out")
    } finally {
      await context?.close()
      await server.stop()
      fs.rmSync(profile, { recursive: true, force: true })
    }
  })
})
