/** @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const MAX_DEPTH = 64

/**
 * Copies a JSON-compatible value into a deeply frozen structure, or returns a string saying why the
 * value cannot be stored. One pass: validation, copy and freeze together, so that a value held in a
 * snapshot can never be changed through a reference the app still holds.
 *
 * @internal
 */
export const freezeJson = (value: unknown): Json | JsonProblem => {
  const seen = new Set<object>()
  const go = (v: unknown, depth: number, path: string): Json | JsonProblem => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v
      case "number":
        return Number.isFinite(v) ? v : new JsonProblem(`${path}: ${v} is not a JSON number`)
      case "object": {
        if (v === null) return null
        if (depth > MAX_DEPTH) return new JsonProblem(`${path}: nested deeper than ${MAX_DEPTH} levels`)
        if (seen.has(v)) return new JsonProblem(`${path}: circular reference`)
        if (Array.isArray(v)) {
          seen.add(v)
          const out: Array<Json> = new Array(v.length)
          for (let i = 0; i < v.length; i++) {
            const item = go(v[i], depth + 1, `${path}[${i}]`)
            if (item instanceof JsonProblem) return item
            out[i] = item
          }
          seen.delete(v)
          return Object.freeze(out)
        }
        const proto = Object.getPrototypeOf(v)
        if (proto !== Object.prototype && proto !== null) {
          return new JsonProblem(`${path}: ${describe(v)} is not a plain object`)
        }
        seen.add(v)
        const out: Record<string, Json> = {}
        for (const key of Object.keys(v)) {
          const item = go((v as Record<string, unknown>)[key], depth + 1, `${path}.${key}`)
          if (item instanceof JsonProblem) return item
          if (key === "__proto__") {
            Object.defineProperty(out, key, { value: item, enumerable: true, writable: false, configurable: false })
          } else {
            out[key] = item
          }
        }
        seen.delete(v)
        return Object.freeze(out)
      }
      default:
        return new JsonProblem(`${path}: a ${typeof v} is not JSON-compatible`)
    }
  }
  return go(value, 0, "value")
}

/** @internal */
export class JsonProblem {
  constructor(readonly detail: string) {}
}

const describe = (v: object): string => {
  const name = v.constructor?.name
  return typeof name === "string" && name.length > 0 ? `a ${name}` : "an object with a custom prototype"
}

/**
 * Deep-freezes a value that came out of `JSON.parse` (already a fresh, plain structure).
 *
 * @internal
 */
export const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}
