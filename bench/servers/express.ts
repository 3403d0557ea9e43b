/**
 * express 5 servers for the benchmark (reference): `bare` (no session), `memory` (express-session's
 * MemoryStore) and `redis` (connect-redis on ioredis). `POST /counter` reads and writes
 * `req.session.count`. Listens on 127.0.0.1, port 0, and prints `LISTENING <port>`.
 */
import RedisStore from "connect-redis"
import express from "express"
import session from "express-session"
import { Redis } from "ioredis"
import type { AddressInfo } from "node:net"
import { setSessionCounter } from "./inspect.js"

declare module "express-session" {
  interface SessionData {
    count: number
  }
}

const mode = process.argv[2] ?? "bare"
const app = express()
app.disable("x-powered-by")
app.disable("etag")

if (mode !== "bare") {
  const store = mode === "redis"
    ? new RedisStore({
      client: new Redis(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6390"),
      prefix: `bench:${process.pid}:`
    })
    : new session.MemoryStore()
  setSessionCounter(() =>
    new Promise((resolve) => store.length((error, n) => resolve(error === undefined || error === null ? n : -1)))
  )
  app.use(session({
    secret: "benchmark secret: thirty-two bytes or more, fixed",
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: "lax" }
  }))
}

app.get("/untouched", (_req, res) => {
  res.type("text/plain").send("hi")
})
app.post("/counter", (req, res) => {
  if (mode === "bare") {
    res.type("text/plain").send("1")
    return
  }
  const n = (req.session.count ?? 0) + 1
  req.session.count = n
  res.type("text/plain").send(String(n))
})

const server = app.listen(0, "127.0.0.1", () => {
  console.log(`LISTENING ${(server.address() as AddressInfo).port}`)
})
const stop = () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
}
process.on("SIGTERM", stop)
