/**
 * The security findings and transport traps of issue #14 (and defect 7 of #12), each over a real
 * server: the query transport's redirect stays same-origin, only GET/HEAD are redirected, an expired
 * query id stays dead, Referrer-Policy; the sealed cookie's size counts name plus value and one
 * limit serves reading and writing; cookie-name prefixes and secrets are checked at start-up, as
 * typed errors; rotation re-signs; a failed commit under HttpApi answers the declared error.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpRouter,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Config,
  ConfigError,
  ConfigProvider,
  Effect,
  Exit,
  FastCheck as fc,
  Layer,
  Logger,
  Option,
  Redacted,
  Schema,
  TestClock
} from "effect"
import { HttpSession, Session, SessionError, SessionStore } from "effect-session"
import * as SealedCookie from "effect-session/HttpSession/SealedCookie"
import { request as httpRequest } from "node:http"
import { sameOriginUrl } from "../src/internal/http/query.js"
import { client, otherSecret, secret, serve, serveLayer, sessionLayer } from "./utils/http.js"
import { failingSaves } from "./utils/stores.js"

const Note = Session.key("note", Schema.String)

const noteApp = HttpRouter.empty.pipe(
  HttpRouter.get("/note", Effect.map(Session.getOrElse(Note, () => ""), (n) => HttpServerResponse.text(n))),
  HttpRouter.post("/note", Effect.as(Session.set(Note, "written"), HttpServerResponse.text("ok"))),
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok"))),
  HttpRouter.get("/boom", Effect.die("boom")),
  HttpRouter.get(
    "/own-policy",
    Effect.succeed(HttpServerResponse.text("ok", { headers: { "referrer-policy": "same-origin" } }))
  ),
  HttpRouter.post(
    "/echo",
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) => Effect.map(Effect.orDie(request.text), (body) => HttpServerResponse.text(`echo:${body}`))
    )
  ),
  HttpSession.middleware
)

/** A raw request: the target goes on the wire as given (fetch would resolve dots and backslashes). */
const raw = (base: string, method: string, target: string) =>
  Effect.async<{ status: number; headers: Record<string, string | Array<string> | undefined> }>((resume) => {
    const { hostname, port } = new URL(base)
    const req = httpRequest({ host: hostname, port, method, path: target }, (res) => {
      res.resume()
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode!, headers: res.headers })))
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end()
  })

const querySession = (options: Partial<HttpSession.Options> = {}) =>
  sessionLayer(SessionStore.layerMemory(), { transport: { _tag: "Query" }, ...options })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<E> =>
  Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()

const build = <A, E>(layer: Layer.Layer<A, E>) => Effect.exit(Effect.scoped(Layer.build(layer)))

describe("query transport: the redirect", () => {
  it.scopedLive("stays a same-origin path whatever the request path (no open redirect)", () =>
    Effect.gen(function*() {
      const base = yield* serve(noteApp, querySession())
      const targets = [
        "//x//attacker.example",
        "//attacker.example",
        "///attacker.example",
        "/.//a",
        "/..//a",
        "/%2e//a",
        "/%2E%2E//a",
        "/./\\a",
        "/\\attacker.example",
        "/\\\\attacker.example",
        "/a/..//attacker.example",
        "/a/../..//attacker.example/x?y=1",
        "http://attacker.example//evil"
      ]
      for (const target of targets) {
        const reply = yield* raw(base, "GET", target)
        expect(reply.status, target).toBe(302)
        const location = String(reply.headers.location)
        // a single slash, then neither a slash nor a backslash: a path, never a scheme-relative URL
        expect(location, target).toMatch(/^\/(?![/\\])/)
        expect(new URL(location, "http://host.test/").origin, target).toBe("http://host.test")
        expect(new URL(location, "http://host.test/").searchParams.get("sid"), target).toMatch(/\./)
      }
    }))

  it.effect("the Location of any request target is a same-origin path (property)", () =>
    Effect.sync(() => {
      const target = fc.array(
        fc.constantFrom("/", "\\", ".", "..", "%2e", "%2E", "%5c", "%2f", "a", "?", "#", ":", "@"),
        {
          maxLength: 12
        }
      ).map((parts) => "/" + parts.join(""))
      fc.assert(
        fc.property(target, (t) => {
          const url = sameOriginUrl(t)
          const location = `${url.pathname}${url.search}`
          return /^\/(?![/\\])/.test(location) && new URL(location, "http://host.test/").origin === "http://host.test"
        }),
        { numRuns: 2000, seed: 14 }
      )
    }))

  it.scopedLive("only GET and HEAD are redirected: a POST without an id reaches its handler with its body", () =>
    Effect.gen(function*() {
      const base = yield* serve(noteApp, querySession())
      const http = client(base)
      const reply = yield* http.post("/echo", { body: "the form's data" })
      expect(reply.status).toBe(200)
      expect(reply.body).toBe("echo:the form's data")
      expect((yield* raw(base, "HEAD", "/note")).status).toBe(302)
      expect((yield* http.get("/note")).status).toBe(302)
    }))

  it.scopedLive("every response carries Referrer-Policy: no-referrer (the URL holds the id); the app's own is kept", () =>
    Effect.gen(function*() {
      const base = yield* serve(noteApp, querySession())
      const http = client(base)
      const redirect = yield* http.get("/note")
      expect(redirect.headers.get("referrer-policy")).toBe("no-referrer")
      const location = redirect.headers.get("location")!
      const sid = new URL(location, base).searchParams.get("sid")!
      for (const path of ["/note", "/health", "/boom", "/nowhere"]) {
        const reply = yield* http.get(`${path}?sid=${encodeURIComponent(sid)}`)
        expect(reply.headers.get("referrer-policy"), path).toBe("no-referrer")
      }
      const written = yield* http.post(location)
      expect(written.headers.get("referrer-policy")).toBe("no-referrer")
      const own = yield* http.get(`/own-policy?sid=${encodeURIComponent(sid)}`)
      expect(own.headers.get("referrer-policy")).toBe("same-origin")
    }))
})

describe("query transport: expiry", () => {
  it.scoped("an expired id is never adopted again: a read after expiry, then a write through the old URL", () =>
    Effect.gen(function*() {
      const base = yield* serve(noteApp, querySession({ idleTimeout: "30 minutes" }))
      const http = client(base)
      const location = (yield* http.get("/note")).headers.get("location")!
      expect((yield* http.post(location)).body).toBe("ok")
      expect((yield* http.get(location)).body).toBe("written")
      yield* TestClock.adjust("31 minutes")
      // the first request after expiry only reads
      expect((yield* http.get(location)).body).toBe("")
      // a write through the old URL goes to a new id, which the response announces
      const write = yield* http.post(location)
      expect(write.status).toBe(200)
      const announced = write.headers.get("x-session-id")
      expect(announced).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
      const oldSid = new URL(location, base).searchParams.get("sid")!
      expect(announced!.slice(0, 43)).not.toBe(oldSid.slice(0, 43))
      // the old URL names nothing: the expired id did not come back
      expect((yield* http.get(location)).body).toBe("")
      expect((yield* http.get(`/note?sid=${encodeURIComponent(announced!)}`)).body).toBe("written")
    }))

  it.scoped("a freshly minted id is adopted on its first write, within the idle timeout", () =>
    Effect.gen(function*() {
      const base = yield* serve(noteApp, querySession({ idleTimeout: "30 minutes" }))
      const http = client(base)
      const location = (yield* http.get("/note")).headers.get("location")!
      yield* TestClock.adjust("29 minutes")
      const write = yield* http.post(location)
      expect(write.headers.get("x-session-id")).toBeNull()
      expect((yield* http.get(location)).body).toBe("written")
    }))
})

describe("sealed cookie: one size limit, counting name and value", () => {
  const BigNote = Session.key("note", Schema.String)
  const bigApp = HttpRouter.empty.pipe(
    HttpRouter.post(
      "/note/:n",
      Effect.gen(function*() {
        const { n } = yield* HttpRouter.schemaPathParams(Schema.Struct({ n: Schema.NumberFromString }))
        yield* Session.set(BigNote, "x".repeat(n))
        return HttpServerResponse.text("ok")
      }).pipe(Effect.orDie)
    ),
    HttpRouter.get("/note", Effect.map(Session.getOrElse(BigNote, () => ""), (n) => HttpServerResponse.text(n))),
    HttpSession.middleware
  )
  // the sealed length of a record whose JSON has `plain` bytes (see HttpSession/SealedCookie)
  const sealedLength = (plain: number) => 3 + Math.ceil(((16 + 12 + 16 + plain) * 4) / 3)

  it.scoped("a 4093-byte sealed value under the name `session` is refused with the typed error; 4089 is kept", () =>
    Effect.gen(function*() {
      const errors: Array<SessionError.SessionStoreError | SessionError.SessionConflict> = []
      const layer = HttpSession.layerSealed({
        secrets: [secret],
        cookie: { secure: false },
        onSessionError: (error) => {
          errors.push(error)
          return HttpServerResponse.text("too big", { status: 503 })
        }
      })
      const base = yield* serve(bigApp, layer)
      // calibrate: the record's JSON for a note of 100 characters
      const probe = client(base)
      expect((yield* probe.post("/note/100")).status).toBe(200)
      const record = Option.getOrThrow(
        SealedCookie.unseal(probe.jar.get("session")!, [secret], 0, { context: "session" })
      )
      const plain100 = SessionStore.encodeRecord(record).length
      const noteFor = (valueLength: number) => {
        for (let n = 0; n < 4096; n++) if (sealedLength(plain100 - 100 + n) === valueLength) return n
        throw new Error(`no note seals to ${valueLength}`)
      }
      // 7 + 4089 = 4096: the largest cookie browsers keep
      const fits = client(base)
      const kept = yield* fits.post(`/note/${noteFor(4089)}`)
      expect(kept.status).toBe(200)
      expect(fits.jar.get("session")!.length).toBe(4089)
      expect((yield* fits.get("/note")).body.length).toBe(noteFor(4089))
      // 7 + 4093 = 4100: browsers would drop it
      const over = yield* client(base).post(`/note/${noteFor(4093)}`)
      expect(over.status).toBe(503)
      expect(over.setCookies).toEqual([])
      expect(errors).toHaveLength(1)
      expect(errors[0]!._tag).toBe("SessionStoreError")
      const cause = (errors[0] as SessionError.SessionStoreError).cause
      expect(cause).toBeInstanceOf(SealedCookie.SealedCookieTooLarge)
      expect((cause as SealedCookie.SealedCookieTooLarge).length).toBe(4093)
    }))

  it.scoped("maxLength is one number for writing and reading; above the browsers' 4096 it is refused at start-up", () =>
    Effect.gen(function*() {
      for (const maxLength of [4097, 8192, 1.5, 100]) {
        const exit = yield* build(HttpSession.layerSealed({ secrets: [secret], maxLength }))
        const error = failureOf(exit)
        expect(Option.isSome(error), String(maxLength)).toBe(true)
        expect(error.pipe(Option.map((e) => e._tag)), String(maxLength)).toEqual(Option.some("SessionOptionError"))
      }
      // a smaller limit: what is written at the limit is read back
      const small = yield* serve(
        bigApp,
        HttpSession.layerSealed({ secrets: [secret], cookie: { secure: false }, maxLength: 2000 })
      )
      const http = client(small)
      // the longest note that fits, by bisection
      let n = 100
      let tooLong = 2000
      while (tooLong - n > 1) {
        const mid = (n + tooLong) >> 1
        if ((yield* client(small).post(`/note/${mid}`)).status === 200) n = mid
        else tooLong = mid
      }
      expect((yield* http.post(`/note/${n}`)).status).toBe(200)
      expect(7 + http.jar.get("session")!.length).toBeLessThanOrEqual(2000)
      expect(7 + http.jar.get("session")!.length).toBeGreaterThan(1996)
      expect((yield* http.get("/note")).body).toBe("x".repeat(n))
      // a cookie sealed under the browsers' limit but over this layer's is not opened
      const big = client(
        yield* serve(bigApp, HttpSession.layerSealed({ secrets: [secret], cookie: { secure: false } }))
      )
      yield* big.post(`/note/${n + 200}`)
      const reply = yield* client(small).get("/note", { headers: { cookie: `session=${big.jar.get("session")!}` } })
      expect(reply.body).toBe("")
    }))
})

describe("cookie-name prefixes, checked at start-up", () => {
  const wrong: ReadonlyArray<HttpSession.CookieOptions> = [
    { name: "__Host-sid", secure: false },
    { name: "__Host-sid", secure: true, domain: "example.com" },
    { name: "__Host-sid", secure: true, path: "/app" },
    { name: "__host-sid", secure: false },
    { name: "__Secure-sid", secure: false },
    { name: "__SECURE-sid", secure: false }
  ]

  it.effect("each wrong __Host- / __Secure- configuration fails the layer with SessionOptionError (cookie.name)", () =>
    Effect.gen(function*() {
      for (const cookie of wrong) {
        for (
          const layer of [
            HttpSession.layer({ secrets: [secret], cookie }).pipe(Layer.provide(SessionStore.layerMemory())),
            HttpSession.layer({ secrets: [secret], transport: { _tag: "Cookie", ...cookie } }).pipe(
              Layer.provide(SessionStore.layerMemory())
            ),
            HttpSession.layerSealed({ secrets: [secret], cookie })
          ]
        ) {
          const error = failureOf(yield* build(layer))
          expect(Option.isSome(error), JSON.stringify(cookie)).toBe(true)
          const e = Option.getOrThrow(error) as SessionError.SessionOptionError
          expect(e._tag).toBe("SessionOptionError")
          expect(e.option).toBe("cookie.name")
        }
      }
      // the right ones start
      for (
        const cookie of [
          { name: "__Host-sid" },
          { name: "__Host-sid", secure: true, path: "/" },
          { name: "__Secure-sid", domain: "example.com", path: "/app" }
        ]
      ) {
        const exit = yield* build(
          HttpSession.layer({ secrets: [secret], cookie }).pipe(Layer.provide(SessionStore.layerMemory()))
        )
        expect(Exit.isSuccess(exit), JSON.stringify(cookie)).toBe(true)
      }
    }))

  it.effect("from Config, a wrong prefix is a ConfigError", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(
        new Map([["SESSION_SECRET", Redacted.value(secret)], ["COOKIE_NAME", "__Host-sid"], ["COOKIE_SECURE", "false"]])
      )
      const layer = HttpSession.layerConfig({
        secrets: Config.array(Config.redacted("SESSION_SECRET")),
        cookie: Config.all({ name: Config.string("COOKIE_NAME"), secure: Config.boolean("COOKIE_SECURE") })
      }).pipe(Layer.provide(SessionStore.layerMemory()), Layer.provide(Layer.setConfigProvider(provider)))
      const error = failureOf(yield* build(layer))
      expect(Option.isSome(error) && ConfigError.isConfigError(error.value)).toBe(true)
    }))
})

describe("secrets, checked at start-up", () => {
  const fromConfig = (value: string) =>
    HttpSession.layerConfig({ secrets: Config.array(Config.redacted("SESSION_SECRETS")) }).pipe(
      Layer.provide(SessionStore.layerMemory()),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["SESSION_SECRETS", value]]))))
    )

  it.effect("from Config, a short secret or a comma inside one is a ConfigError (not a defect), naming no value", () =>
    Effect.gen(function*() {
      const comma = `${"a".repeat(20)},${"b".repeat(20)}`
      for (const value of ["short", comma]) {
        const exit = yield* build(fromConfig(value))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
        const error = failureOf(exit)
        expect(Option.isSome(error) && ConfigError.isConfigError(error.value), value).toBe(true)
        expect(String(Option.getOrThrow(error))).not.toContain("aaaaaaaaaa")
      }
      expect(Exit.isSuccess(yield* build(fromConfig(`${"a".repeat(32)},${"b".repeat(32)}`)))).toBe(true)
    }))

  it.effect("in code, no secret or a short one is a SessionOptionError (secrets), not a RangeError defect", () =>
    Effect.gen(function*() {
      for (const secrets of [[], [Redacted.make("short")], [secret, Redacted.make("x".repeat(31))]]) {
        for (
          const layer of [
            HttpSession.layer({ secrets }).pipe(Layer.provide(SessionStore.layerMemory())),
            HttpSession.layerSealed({ secrets })
          ]
        ) {
          const exit = yield* build(layer)
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
          const error = Option.getOrThrow(failureOf(exit)) as SessionError.SessionOptionError
          expect(error._tag).toBe("SessionOptionError")
          expect(error.option).toBe("secrets")
        }
      }
      // other wrong cookie options are typed too
      const sameSite = failureOf(
        yield* build(
          HttpSession.layer({ secrets: [secret], cookie: { sameSite: "none", secure: false } }).pipe(
            Layer.provide(SessionStore.layerMemory())
          )
        )
      )
      expect(sameSite.pipe(Option.map((e) => e._tag))).toEqual(Option.some("SessionOptionError"))
    }))
})

describe("rotation without logouts", () => {
  const Count = Session.key("count", Schema.Number)
  const app = HttpRouter.empty.pipe(
    HttpRouter.post(
      "/count",
      Effect.map(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1), (n) => HttpServerResponse.text(`${n}`))
    ),
    HttpRouter.get("/count", Effect.map(Session.getOrElse(Count, () => 0), (n) => HttpServerResponse.text(`${n}`))),
    HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok"))),
    HttpSession.middleware
  )
  const oldSecret = otherSecret

  it.scopedLive("a cookie an older secret signed is re-signed with the first on a request that reads it", () =>
    Effect.gen(function*() {
      const store = Layer.succeedContext(yield* Layer.build(SessionStore.layerMemory()))
      const withSecrets = (secrets: ReadonlyArray<Redacted.Redacted<string>>, persistent = false) =>
        HttpSession.layer({ secrets, cookie: { secure: false, persistent } }).pipe(Layer.provideMerge(store))
      const before = client(yield* serve(app, withSecrets([oldSecret])))
      expect((yield* before.post("/count")).body).toBe("1")
      const signedByOld = before.jar.get("session")!
      for (const persistent of [false, true]) {
        const rotated = yield* serve(app, withSecrets([secret, oldSecret], persistent))
        const http = client(rotated)
        http.jar.set("session", signedByOld)
        // an untouched route does not look at the session: nothing re-signed there (decision)
        expect((yield* http.get("/health")).setCookies).toEqual([])
        const read = yield* http.get("/count")
        expect(read.body).toBe("1")
        expect(read.setCookies).toHaveLength(1)
        if (persistent) expect(read.setCookies[0]).toMatch(/Max-Age=\d+/)
        const resigned = http.jar.get("session")!
        expect(resigned).not.toBe(signedByOld)
        expect(resigned.slice(0, 43)).toBe(signedByOld.slice(0, 43))
        // current now: not sent again
        expect((yield* http.get("/count")).setCookies).toEqual([])
        // the old secret removed: the re-signed cookie still names the session
        const after = client(yield* serve(app, withSecrets([secret])))
        after.jar.set("session", resigned)
        expect((yield* after.get("/count")).body).toBe("1")
      }
    }))

  it.scopedLive("a header token is re-signed in the response header", () =>
    Effect.gen(function*() {
      const store = Layer.succeedContext(yield* Layer.build(SessionStore.layerMemory()))
      const withSecrets = (secrets: ReadonlyArray<Redacted.Redacted<string>>) =>
        HttpSession.layer({ secrets, transport: { _tag: "Header" } }).pipe(Layer.provideMerge(store))
      const token = (yield* client(yield* serve(app, withSecrets([oldSecret]))).post("/count")).headers.get(
        "x-session-id"
      )!
      const read = yield* client(yield* serve(app, withSecrets([secret, oldSecret]))).get("/count", {
        headers: { "x-session-id": token }
      })
      const resigned = read.headers.get("x-session-id")!
      expect(resigned).not.toBe(token)
      const after = yield* client(yield* serve(app, withSecrets([secret]))).get("/count", {
        headers: { "x-session-id": resigned }
      })
      expect(after.body).toBe("1")
    }))

  it.scopedLive("a sealed cookie an older secret sealed is sealed again with the first when it is read", () =>
    Effect.gen(function*() {
      const withSecrets = (secrets: ReadonlyArray<Redacted.Redacted<string>>) =>
        HttpSession.layerSealed({ secrets, cookie: { secure: false } })
      const before = client(yield* serve(app, withSecrets([oldSecret])))
      yield* before.post("/count")
      const http = client(yield* serve(app, withSecrets([secret, oldSecret])))
      http.jar.set("session", before.jar.get("session")!)
      const read = yield* http.get("/count")
      expect(read.body).toBe("1")
      expect(read.setCookies).toHaveLength(1)
      const after = client(yield* serve(app, withSecrets([secret])))
      after.jar.set("session", http.jar.get("session")!)
      expect((yield* after.get("/count")).body).toBe("1")
    }))
})

describe("HttpApi: a failed commit", () => {
  const Count = Session.key("count", Schema.Number)
  const Api = HttpApi.make("api").add(
    HttpApiGroup.make("count")
      .add(HttpApiEndpoint.post("bump", "/bump").addSuccess(Schema.Number))
      .add(HttpApiEndpoint.get("unavailable", "/unavailable").addSuccess(Schema.Number))
      .addError(HttpSession.SessionUnavailable)
      .middleware(HttpSession.ApiSession)
  )
  const ApiLive = HttpApiBuilder.api(Api).pipe(
    Layer.provide(HttpApiBuilder.group(Api, "count", (handlers) =>
      handlers
        .handle("bump", () => HttpSession.orUnavailable(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1)))
        .handle("unavailable", () =>
          HttpSession.orUnavailable(
            Effect.fail(new SessionError.SessionStoreError({ store: "broken", operation: "load" }))
          )))),
    Layer.provide(HttpSession.layerApi)
  )

  it.scopedLive("answers the declared SessionUnavailable (as orUnavailable does), logged without ids or data", () =>
    Effect.gen(function*() {
      const logs: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        const record: Record<string, unknown> = {}
        for (const [k, v] of annotations) record[k] = v
        logs.push({ level: logLevel.label, message, annotations: record })
      })
      const store = failingSaves(new SessionError.SessionStoreError({ store: "broken", operation: "save" }))
      const base = yield* serveLayer(
        HttpApiBuilder.serve().pipe(
          Layer.provide(ApiLive),
          Layer.provide(sessionLayer(store).pipe(Layer.orDie)),
          Layer.provide(Logger.replace(Logger.defaultLogger, logger))
        )
      )
      const http = client(base)
      const declared = yield* http.get("/unavailable")
      const failed = yield* http.post("/bump")
      expect(declared.status).toBe(503)
      expect(failed.status).toBe(declared.status)
      expect(failed.headers.get("content-type")).toBe(declared.headers.get("content-type"))
      expect(JSON.parse(failed.body)).toEqual(JSON.parse(declared.body))
      expect(JSON.parse(failed.body)).toEqual({ _tag: "SessionUnavailable" })
      expect(failed.setCookies).toEqual([])
      const warnings = logs.filter((l) => l.level === "WARN")
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.annotations).toEqual({ store: "memory", error: "SessionStoreError" })
      expect(JSON.stringify(warnings[0]!.message)).toMatch(/commit failed/)
      expect(JSON.stringify(warnings[0]!.message)).not.toMatch(/[A-Za-z0-9_-]{43}/)
    }))
})
