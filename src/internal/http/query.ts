/**
 * The query transport (legacy): the signed id in a URL query parameter. A GET or HEAD without one
 * is redirected to the same, same-origin path with a freshly minted id; every response carries
 * `Referrer-Policy: no-referrer` unless the app set one.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { generateId } from "../id.js"
import type { Signer, Verified } from "../signing.js"
import type { Outcome } from "../snapshot.js"
import { MAX_TOKEN, type Opened, type Transport, unchanged } from "./transport.js"

/**
 * The path and query of a request as a same-origin path: dot segments resolved, and any run of
 * leading slashes and backslashes collapsed into one slash, so that `//host`, `/.//host`,
 * `/%2e//host` or `/\host` can never become a scheme-relative URL to another origin.
 *
 * @internal
 */
export const sameOriginUrl = (requestUrl: string): URL => {
  // the request target is a path here (an absolute-form target gives only its path and query):
  // never parsed with an authority of its own
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(requestUrl)
  const url = absolute
    ? new URL(requestUrl)
    : new URL(`http://localhost/${requestUrl.replace(/^[/\\]+/, "")}`)
  const collapsed = url.pathname.replace(/^[/\\]+/, "/")
  return new URL(`http://localhost${collapsed}${url.search}`)
}

const noReferrer = (response: HttpServerResponse.HttpServerResponse) =>
  response.headers["referrer-policy"] === undefined
    ? HttpServerResponse.setHeader(response, "referrer-policy", "no-referrer")
    : response

class QueryOpened implements Opened {
  readonly id: string | undefined
  readonly store = undefined
  constructor(
    readonly signer: Signer,
    readonly verified: Verified | undefined,
    readonly adopt: boolean,
    readonly redirect: HttpServerResponse.HttpServerResponse | undefined
  ) {
    this.id = verified?.id
  }
  write(response: HttpServerResponse.HttpServerResponse, outcome: Outcome) {
    const id = outcome.storedId
    if (id === undefined || unchanged(this.verified, id)) return response
    // a new id (regenerated, a new session after expiry, or re-signed after a rotation): the app
    // links with it from now on
    return HttpServerResponse.setHeader(response, "x-session-id", this.signer.sign(id))
  }
}

/**
 * `adoptWindow`: how long a minted id that is not stored yet is kept (the idle timeout, or the
 * absolute one if shorter): the id travels in the URL before anything is stored, and an older one
 * is an expired or destroyed session, never brought back.
 *
 * @internal
 */
export const queryTransport = (signer: Signer, rawName: string | undefined, adoptWindow: number): Transport => {
  const name = rawName ?? "sid"
  return {
    readsTime: true,
    writesTime: false,
    everyResponse: noReferrer,
    open: (request, now) => {
      const url = sameOriginUrl(request.url)
      const value = url.searchParams.get(name)
      const verified = value === null || value.length > MAX_TOKEN ? undefined : signer.open(value)
      if (verified !== undefined) {
        const adopt = verified.mintedAt !== undefined && now < verified.mintedAt + adoptWindow
        return new QueryOpened(signer, verified, adopt, undefined)
      }
      // only a safe method is redirected: a POST's body would be lost on the way
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new QueryOpened(signer, undefined, false, undefined)
      }
      url.searchParams.set(name, signer.mint(generateId(), now))
      const redirect = noReferrer(HttpServerResponse.redirect(`${url.pathname}${url.search}`, { status: 302 }))
      return new QueryOpened(signer, undefined, false, redirect)
    }
  }
}
