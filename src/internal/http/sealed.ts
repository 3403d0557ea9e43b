/**
 * The sealed-cookie transport: the session data itself, sealed in the cookie (see
 * `HttpSession/SealedCookie`). Each request brings a store of one record, its own: what its
 * cookie carries, and what its unit commits.
 *
 * @internal
 */
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { SessionConflict, SessionStoreError, type SessionStoreOperation } from "../../SessionError.js"
import type { SessionRecord, SessionStoreService } from "../../SessionStore.js"
import type { Sealer } from "../seal.js"
import type { Outcome } from "../snapshot.js"
import { readCookie, type SessionCookie } from "./cookie.js"
import type { Opened, Transport } from "./transport.js"

const STORE = "sealed-cookie"
const SEALED_ID = "sealed"

interface Slot {
  readonly id: string
  readonly record: SessionRecord
  readonly sealed: string | undefined
}

class SealedOpened implements Opened {
  readonly id: string | undefined
  readonly adopt = true
  readonly redirect = undefined
  readonly store: SessionStoreService
  slot: Slot | undefined
  cleared = false
  constructor(
    readonly sealer: Sealer,
    readonly cookie: SessionCookie,
    readonly value: string | undefined,
    readonly opened: { readonly record: SessionRecord; readonly current: boolean } | undefined
  ) {
    this.id = opened === undefined ? undefined : SEALED_ID
    this.slot = opened === undefined ? undefined : { id: SEALED_ID, record: opened.record, sealed: undefined }
    this.store = {
      name: STORE,
      load: (id) =>
        Effect.sync(() =>
          this.slot !== undefined && this.slot.id === id ? Option.some(this.slot.record) : Option.none()
        ),
      save: (id, record, expectedVersion) =>
        Effect.suspend((): Effect.Effect<void, SessionStoreError | SessionConflict> => {
          const current = this.slot !== undefined && this.slot.id === id ? this.slot.record.version : 0
          if (current !== expectedVersion) return Effect.fail(new SessionConflict({ store: STORE, expectedVersion }))
          const result = this.sealer.seal(record)
          if (Either.isLeft(result)) return Effect.fail(result.left)
          this.slot = { id, record, sealed: result.right }
          return Effect.void
        }),
      delete: (id) =>
        Effect.sync(() => {
          if (this.slot !== undefined && this.slot.id === id) {
            this.slot = undefined
            this.cleared = true
          }
        }),
      deleteByUser: () =>
        Effect.fail(
          new SessionStoreError({
            store: STORE,
            operation: "deleteByUser",
            detail: "sealed cookies cannot be revoked on the server"
          })
        ),
      purge: Effect.succeed(0)
    }
  }
  write(response: HttpServerResponse.HttpServerResponse, outcome: Outcome, now: number) {
    const slot = this.slot
    if (slot?.sealed !== undefined) return this.cookie.set(response, slot.sealed, outcome.expiresAt, now)
    if (this.cleared && slot === undefined && this.value !== undefined) return this.cookie.expire(response)
    // opened with an older secret, and in use: sealed again with the first one (rotation)
    if (slot !== undefined && this.opened !== undefined && !this.opened.current && outcome.touched) {
      const resealed = this.sealer.seal(slot.record)
      if (Either.isRight(resealed)) return this.cookie.set(response, resealed.right, slot.record.expiresAt, now)
    }
    return response
  }
}

/** `maxValueLength`: one limit for reading and writing (a longer cookie was not written here). @internal */
export const sealedTransport = (
  sealer: Sealer,
  cookie: SessionCookie,
  maxValueLength: number
): Transport => ({
  readsTime: true,
  writesTime: true,
  everyResponse: undefined,
  open: (request, now) => {
    const value = readCookie(request.headers.cookie, cookie.name, maxValueLength)
    return new SealedOpened(sealer, cookie, value, value === undefined ? undefined : sealer.open(value, now))
  }
})

/** The shared store of a sealed-cookie layer: there is none, every request brings its own. @internal */
export const noSharedStore: SessionStoreService = (() => {
  const none = (operation: SessionStoreOperation) =>
    Effect.fail(new SessionStoreError({ store: STORE, operation, detail: "no server-side store" }))
  return {
    name: STORE,
    load: () => none("load"),
    save: () => none("save"),
    delete: () => none("delete"),
    deleteByUser: () => none("deleteByUser"),
    purge: none("purge")
  }
})()
