/**
 * The header transport: a signed token in a request header, echoed in the same response header
 * when it changes (an empty value: forget it).
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Signer, Verified } from "../signing.js"
import type { Outcome } from "../snapshot.js"
import { MAX_TOKEN, type Opened, type Transport, unchanged } from "./transport.js"

class HeaderOpened implements Opened {
  readonly id: string | undefined
  readonly adopt = false
  readonly store = undefined
  readonly redirect = undefined
  constructor(readonly name: string, readonly signer: Signer, readonly verified: Verified | undefined) {
    this.id = verified?.id
  }
  write(response: HttpServerResponse.HttpServerResponse, outcome: Outcome) {
    const id = outcome.storedId
    if (id !== undefined) {
      return unchanged(this.verified, id)
        ? response
        : HttpServerResponse.setHeader(response, this.name, this.signer.sign(id))
    }
    // an empty header: the client must forget its id
    return this.verified !== undefined && outcome.touched
      ? HttpServerResponse.setHeader(response, this.name, "")
      : response
  }
}

/** @internal */
export const headerTransport = (signer: Signer, rawName: string | undefined): Transport => {
  const name = (rawName ?? "x-session-id").toLowerCase()
  return {
    readsTime: false,
    writesTime: false,
    everyResponse: undefined,
    open: (request) => {
      const value = request.headers[name]
      return new HeaderOpened(
        name,
        signer,
        value === undefined || value.length > MAX_TOKEN ? undefined : signer.open(value)
      )
    }
  }
}
