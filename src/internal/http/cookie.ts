/**
 * The session cookie: the one place for its attributes (checked once, at start-up), how a request's
 * cookie is found, and the signed-cookie transport.
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse_ from "@effect/platform/HttpServerResponse"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type { CookieOptions } from "../../HttpSession.js"
import { SessionOptionError } from "../../SessionError.js"
import type { Signer, Verified } from "../signing.js"
import type { Outcome } from "../snapshot.js"
import { MAX_TOKEN, type Opened, type Transport, unchanged } from "./transport.js"

/**
 * The browsers' limit on one cookie: its name and value together, in bytes (RFC 6265bis, 4096).
 *
 * @internal
 */
export const BROWSER_COOKIE_LIMIT = 4096

/** Finds one cookie in a Cookie header without parsing the others. @internal */
export const readCookie = (header: string | undefined, name: string, max = MAX_TOKEN): string | undefined => {
  if (header === undefined || header.length === 0) return undefined
  const prefix = `${name}=`
  let start = 0
  while (start < header.length) {
    while (header.charCodeAt(start) === 32) start++
    let end = header.indexOf(";", start)
    if (end === -1) end = header.length
    if (header.startsWith(prefix, start)) {
      const value = header.slice(start + prefix.length, end).trim()
      return value.length > max ? undefined : value
    }
    start = end + 1
  }
  return undefined
}

interface Attributes {
  readonly httpOnly: boolean
  readonly secure: boolean
  readonly sameSite: "lax" | "strict" | "none"
  readonly path: string
  readonly domain?: string
  readonly partitioned?: boolean
  readonly priority?: "low" | "medium" | "high"
}

/**
 * Throws the `SessionOptionError` of cookie attributes that browsers would refuse (so that no
 * session would ever stick): the `__Host-` and `__Secure-` name prefixes' rules, `SameSite=None`
 * or `Partitioned` without `Secure`, and what `Set-Cookie` cannot carry. Run once, at start-up.
 */
const check = (name: string, attributes: Attributes): void => {
  const lower = name.toLowerCase()
  const refuse = (option: string, detail: string) => {
    throw new SessionOptionError({ option, detail })
  }
  if (
    lower.startsWith("__host-") && (!attributes.secure || attributes.domain !== undefined || attributes.path !== "/")
  ) {
    refuse(
      "cookie.name",
      "a cookie named __Host-… must be Secure (secure: true), have Path=/ and no Domain; browsers drop it otherwise"
    )
  }
  if (lower.startsWith("__secure-") && !attributes.secure) {
    refuse("cookie.name", "a cookie named __Secure-… must be Secure (secure: true); browsers drop it otherwise")
  }
  if (attributes.sameSite === "none" && !attributes.secure) {
    refuse("cookie.sameSite", "a SameSite=None cookie must be Secure (secure: true); browsers refuse it otherwise")
  }
  if (attributes.partitioned === true && !attributes.secure) {
    refuse("cookie.partitioned", "a Partitioned cookie must be Secure")
  }
  const made = Cookies.makeCookie(name, "x", attributes)
  if (Either.isLeft(made)) {
    const reason = made.left.reason
    if (reason === "InvalidDomain") refuse("cookie.domain", "not a valid cookie domain")
    if (reason === "InvalidPath") refuse("cookie.path", "not a valid cookie path")
    refuse("cookie.name", "not a valid cookie name")
  }
}

/** The session cookie of a transport: its name and the two ways it is written. @internal */
export interface SessionCookie {
  readonly name: string
  readonly persistent: boolean
  /** Sets the cookie, with a `Max-Age` following the session's expiry when persistent. */
  readonly set: (
    response: HttpServerResponse_.HttpServerResponse,
    value: string,
    expiresAt: number,
    now: number,
    /** The session chose a lifetime of its own (`Session.rememberFor`): persistent whatever the option. */
    remembered?: boolean
  ) => HttpServerResponse_.HttpServerResponse
  /** Expires the cookie in the browser. */
  readonly expire: (response: HttpServerResponse_.HttpServerResponse) => HttpServerResponse_.HttpServerResponse
}

/**
 * The session cookie from its options (defaults: `session`, `HttpOnly`, `Secure`, `SameSite=Lax`,
 * `Path=/`, a browser-session cookie). Throws a `SessionOptionError` for attributes browsers refuse.
 *
 * @internal
 */
export const sessionCookie = (options: CookieOptions): SessionCookie => {
  const name = options.name ?? "session"
  const persistent = options.persistent ?? false
  const base: Attributes = {
    httpOnly: options.httpOnly ?? true,
    secure: options.secure ?? true,
    sameSite: options.sameSite ?? "lax",
    path: options.path ?? "/",
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    ...(options.partitioned === undefined ? {} : { partitioned: options.partitioned }),
    ...(options.priority === undefined ? {} : { priority: options.priority })
  }
  check(name, base)
  return {
    name,
    persistent,
    set: (response, value, expiresAt, now, remembered = false) =>
      HttpServerResponse.unsafeSetCookie(response, name, value, {
        ...base,
        ...(persistent || remembered
          ? { maxAge: Duration.seconds(Math.max(0, Math.round((expiresAt - now) / 1000))) }
          : {})
      }),
    expire: (response) => HttpServerResponse.unsafeSetCookie(response, name, "", { ...base, maxAge: Duration.zero })
  }
}

class CookieOpened implements Opened {
  readonly adopt = false
  readonly store = undefined
  readonly redirect = undefined
  // read and verified when first asked for: a request that never touches its session reads no
  // header and checks no signature
  private opened: Verified | undefined | null = null
  constructor(
    readonly cookie: SessionCookie,
    readonly signer: Signer,
    readonly request: HttpServerRequest.HttpServerRequest
  ) {}
  get verified(): Verified | undefined {
    if (this.opened !== null) return this.opened
    const value = readCookie(this.request.headers.cookie, this.cookie.name)
    return this.opened = value === undefined ? undefined : this.signer.open(value)
  }
  get id(): string | undefined {
    return this.verified?.id
  }
  write(response: HttpServerResponse_.HttpServerResponse, outcome: Outcome, now: number) {
    const id = outcome.storedId
    if (id !== undefined) {
      // a cookie an older secret signed is signed again with the first one (rotation without logouts)
      // a persistent cookie (or a remembered session's) follows every save
      if (unchanged(this.verified, id) && !((this.cookie.persistent || outcome.persistent) && outcome.saved)) {
        return response
      }
      return this.cookie.set(response, this.signer.sign(id), outcome.expiresAt, now, outcome.persistent)
    }
    // the presented session is gone (destroyed, expired, unknown): expire the cookie
    return this.verified !== undefined && outcome.touched ? this.cookie.expire(response) : response
  }
}

/** The signed-cookie transport (the default). @internal */
export const cookieTransport = (signer: Signer, options: CookieOptions): Transport => {
  const cookie = sessionCookie(options)
  return {
    readsTime: false,
    writesTime: cookie.persistent,
    everyResponse: undefined,
    open: (request) => new CookieOpened(cookie, signer, request)
  }
}
