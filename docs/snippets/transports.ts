/**
 * docs/transports.md. Type-checked by `npm run check`.
 */
import { Config, Layer, Redacted } from "effect"
import { HttpSession, SessionStore } from "effect-session"

// #region cookie
export const CookieSession = HttpSession.layer({
  secrets: [Redacted.make("change me: a random secret of 32 bytes or more")],
  cookie: {
    name: "session", // default
    httpOnly: true, // default: scripts cannot read it
    secure: true, // default: sent over HTTPS only; false for plain-HTTP development
    sameSite: "lax", // default: not sent on cross-site subrequests and POSTs
    path: "/", // default
    domain: "example.com", // default: none (the cookie is host-only)
    persistent: true, // default false: a browser-session cookie; true: Max-Age follows the session's expiry
    partitioned: false, // CHIPS (requires secure)
    priority: "high"
  }
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion cookie

// #region rotation
// the first secret signs, every secret verifies: put the new one first, drop the old one when
// the sessions signed with it have expired (absoluteTimeout)
export const Rotated = HttpSession.layer({
  secrets: [
    Redacted.make("the new secret, 32 bytes or more, signs from now on"),
    Redacted.make("the old secret, still accepted for a while........")
  ]
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion rotation

// #region header
// for APIs and non-browser clients: a signed token in a request header, sent back in the same
// response header when it changes (an empty value: forget it)
export const HeaderSession = HttpSession.layer({
  secrets: [Redacted.make("change me: a random secret of 32 bytes or more")],
  transport: { _tag: "Header", name: "x-session-id" }
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion header

// #region query
// legacy (cromlech's URLSession): the signed id in a query parameter; a request without one is
// redirected (302) to the same URL with a new id. Ids leak through Referer, logs and shared links.
export const QuerySession = HttpSession.layer({
  secrets: [Redacted.make("change me: a random secret of 32 bytes or more")],
  transport: { _tag: "Query", name: "sid" }
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion query

// #region config
// everything from Config (here: environment variables)
export const FromEnv = HttpSession.layerConfig({
  secrets: Config.array(Config.redacted("SESSION_SECRETS")), // comma-separated: new,old
  idleTimeout: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault("30 minutes")),
  cookie: Config.all({
    name: Config.string("SESSION_COOKIE_NAME").pipe(Config.withDefault("session")),
    secure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true))
  })
}).pipe(Layer.provide(SessionStore.layerMemory()))
// #endregion config

// #region sealed
// the data itself in the cookie, sealed (AES-256-GCM): no store layer at all
export const SealedSession = HttpSession.layerSealed({
  secrets: [Redacted.make("change me: a random secret of 32 bytes or more")], // the first seals, all open
  idleTimeout: "30 minutes",
  maxLength: 4096 // a session that seals to more fails its commit (503) instead of being dropped by the browser
})
// #endregion sealed
