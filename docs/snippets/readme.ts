/**
 * README.md: the HTTP app and the `SessionTimeout` redirect. Type-checked by `npm run check`.
 * (The README's first example is examples/workflow.ts, run by test/examples.test.ts.)
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { HttpSession, Session, SessionStore } from "effect-session"

// #region http
export const app = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/counter",
    Effect.gen(function*() {
      const n = yield* Session.modify("count", (n) => (Option.getOrElse(n, () => 0) as number) + 1)
      return HttpServerResponse.text(String(n))
    })
  ),
  HttpSession.middleware // cookie -> session; handler = one unit of work
)
export const SessionLive = HttpSession.layer({ secrets: [Redacted.make(process.env.SESSION_SECRET!)] }).pipe(
  Layer.provide(SessionStore.layerMemory())
)
// #endregion http

// #region timeout
export const privatePage = Effect.gen(function*() {
  yield* Session.failIfExpired
  return HttpServerResponse.text("welcome back")
}).pipe(Effect.catchTag("SessionTimeout", () => Effect.succeed(HttpServerResponse.redirect("/login?expired=1"))))
// #endregion timeout
