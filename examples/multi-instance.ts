/**
 * Two app instances, two processes on two ports, sharing one Redis session store: a client that
 * logs in on one is recognised on the other, and a counter written on both loses no update (the
 * store's compare-and-set detects the other instance's writes; `merge-then-retry` runs the handler
 * again on fresh data).
 *
 * Run (Redis first: `npm run services:start` starts one on 127.0.0.1:6390):
 *
 *   npx tsx examples/multi-instance.ts            # spawns instances a and b, prints both URLs
 *   curl -s -c jar -b jar -d user=alice http://127.0.0.1:3001/login
 *   curl -s -c jar -b jar http://127.0.0.1:3002/whoami   # {"instance":"b","user":"alice",...}
 *
 *   INSTANCE=a PORT=3001 SESSION_SECRET=... npx tsx examples/multi-instance.ts   # one instance
 *
 * Environment: REDIS_URL (default redis://127.0.0.1:6390); PORT_A, PORT_B (default 3001, 3002; 0
 * picks a free port); HOST (default 127.0.0.1); SESSION_SECRET (every instance needs the same one;
 * without it the launcher makes a random one and gives it to both); SESSION_ON_CONFLICT (default
 * merge-then-retry).
 */
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Encoding, Layer, Option, Redacted, Schema } from "effect"
import { HttpSession, Session } from "effect-session"
import * as RedisStore from "effect-session/SessionStore/Redis"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"

// ---------------------------------------------------------------------------------------------
// one instance (INSTANCE=a)
// ---------------------------------------------------------------------------------------------

const User = Session.key("user", Schema.String)
const Count = Session.key("count", Schema.Number)

const instance = (name: string) => {
  const state = Effect.gen(function*() {
    const user = yield* Session.get(User)
    const count = yield* Session.getOrElse(Count, () => 0)
    return HttpServerResponse.unsafeJson({ instance: name, user: Option.getOrNull(user), count })
  })

  const app = HttpRouter.empty.pipe(
    HttpRouter.get("/whoami", state),
    HttpRouter.post(
      "/login",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const form = new URLSearchParams(yield* Effect.orElseSucceed(request.text, () => ""))
        yield* Session.set(User, form.get("user") ?? "alice")
        yield* Session.regenerate // a new id on login, deleted from / written to the shared store
        return yield* state
      })
    ),
    HttpRouter.post("/counter", Effect.zipRight(Session.modify(Count, (n) => Option.getOrElse(n, () => 0) + 1), state)),
    HttpRouter.post("/logout", Effect.zipRight(Session.destroy, state)),
    HttpSession.middleware,
    // which instance answered, also on the middleware's own answers (409, 503)
    Effect.map(HttpServerResponse.setHeader("x-instance", name))
  )

  const StoreLive = RedisStore.layerStoreConfig({
    url: Config.redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6390"))),
    prefix: Config.string("REDIS_PREFIX").pipe(Config.withDefault("effect-session-example:"))
  })

  const SessionLive = HttpSession.layerConfig({
    // the instances verify each other's cookies: one secret for all
    secrets: Config.array(Config.redacted("SESSION_SECRET")),
    // a conflict with the other instance: merge by key, and run the handler again when both changed
    // the same key (the handlers here touch nothing but the session, so running them again is safe)
    onConflict: Config.literal("fail", "retry", "merge", "merge-then-retry")("SESSION_ON_CONFLICT").pipe(
      Config.withDefault("merge-then-retry" as const)
    ),
    retryAttempts: Config.succeed(20),
    cookie: Config.succeed({ secure: false }) // plain-HTTP development
  }).pipe(Layer.provide(StoreLive))

  // Config.integer, not Config.port: PORT=0 (a free port) is allowed
  const ServerLive = NodeHttpServer.layerConfig(createServer, {
    host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
    port: Config.integer("PORT").pipe(Config.withDefault(3001))
  })

  HttpServer.serve(app).pipe(
    HttpServer.withLogAddress,
    Layer.provide(SessionLive),
    Layer.provide(ServerLive),
    Layer.launch,
    NodeRuntime.runMain
  )
}

// ---------------------------------------------------------------------------------------------
// the launcher (no INSTANCE): two instances as child processes of this script
// ---------------------------------------------------------------------------------------------

const launcher = () => {
  const secret = process.env.SESSION_SECRET ?? Encoding.encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))
  const instances = [
    { name: "a", port: process.env.PORT_A ?? "3001" },
    { name: "b", port: process.env.PORT_B ?? "3002" }
  ].map(({ name, port }) => {
    // the same runtime and loaders (tsx) as this process
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, INSTANCE: name, PORT: port, SESSION_SECRET: secret },
      stdio: ["ignore", "pipe", "pipe", "ipc"]
    })
    let buffer = ""
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const listening = /Listening on (http:\/\/\S+)/.exec(line)
        console.log(listening ? `instance ${name}: ${listening[1]} (pid ${child.pid})` : `[${name}] ${line}`)
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    return { name, child }
  })
  let stopping = false
  const stop = (code: number) => {
    if (stopping) return
    stopping = true
    const alive = instances.filter(({ child }) => child.exitCode === null && child.signalCode === null)
    let left = alive.length
    if (left === 0) process.exit(code)
    for (const { child } of alive) {
      child.once("exit", () => --left === 0 && process.exit(code))
      child.kill("SIGTERM")
    }
  }
  for (const { child, name } of instances) {
    child.once("exit", (exitCode) => {
      if (!stopping) console.error(`instance ${name} exited (${exitCode}); stopping`)
      stop(1)
    })
  }
  process.on("SIGINT", () => stop(0))
  process.on("SIGTERM", () => stop(0))
}

const name = process.env.INSTANCE
if (name !== undefined && name !== "") {
  // started by the launcher: stop when it goes away, however it ends
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"))
  instance(name)
} else {
  launcher()
}
