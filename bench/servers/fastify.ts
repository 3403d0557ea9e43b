/**
 * fastify 5 servers for the benchmark (reference): `bare` (no session) and `session`
 * (@fastify/session with its default in-memory store, @fastify/cookie). `POST /counter` reads and
 * writes `request.session.count`. Listens on 127.0.0.1, port 0, and prints `LISTENING <port>`.
 */
import fastifyCookie from "@fastify/cookie"
import fastifySession from "@fastify/session"
import Fastify from "fastify"
import type { AddressInfo } from "node:net"
import { setSessionCounter } from "./inspect.js"

declare module "fastify" {
  interface Session {
    count?: number
  }
}

const mode = process.argv[2] ?? "bare"
const app = Fastify({ logger: false })

if (mode !== "bare") {
  await app.register(fastifyCookie)
  // the plugin's default store, made here to count its sessions
  const sessions = new Map<string, unknown>()
  setSessionCounter(() => sessions.size)
  await app.register(fastifySession, {
    secret: "benchmark secret: thirty-two bytes or more, fixed",
    store: new fastifySession.MemoryStore(sessions as Map<string, never>),
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: "lax" }
  })
}

app.get("/untouched", async (_request, reply) => reply.type("text/plain").send("hi"))
app.post("/counter", async (request, reply) => {
  if (mode === "bare") return reply.type("text/plain").send("1")
  const n = (request.session.count ?? 0) + 1
  request.session.count = n
  return reply.type("text/plain").send(String(n))
})

await app.listen({ port: 0, host: "127.0.0.1" })
console.log(`LISTENING ${(app.server.address() as AddressInfo).port}`)
process.on("SIGTERM", () => {
  app.server.closeAllConnections()
  void app.close().then(() => process.exit(0))
})
