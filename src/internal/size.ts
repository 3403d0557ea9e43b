/**
 * The size of a session's data as the UTF-8 bytes of its JSON, for the `maxBytes` limit: counted
 * per entry, so that a write costs the size of what it changes, not of the whole session.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import type { Json } from "./json.js"
import { type Data, worthKeeping } from "./snapshot.js"

const utf8Length = (text: string): number => {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4 // a surrogate pair: one code point of four bytes
      i++
    } else bytes += 3
  }
  return bytes
}

// the bytes of a string as JSON: its length and the quotes when it has nothing to escape and is
// ASCII (a key name, most values), without making its JSON
const jsonStringSize = (text: string): number => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return utf8Length(JSON.stringify(text))
  }
  return text.length + 2
}

// values are frozen JSON, shared between units and requests: each is measured once
const measured = new WeakMap<object, number>()

const valueSize = (value: Json): number => {
  if (value === null) return 4
  switch (typeof value) {
    case "number":
      return String(value).length
    case "boolean":
      return value ? 4 : 5
    case "string":
      return jsonStringSize(value)
    default: {
      let size = measured.get(value)
      if (size === undefined) measured.set(value, size = utf8Length(JSON.stringify(value)))
      return size
    }
  }
}

/** The bytes an entry adds to the data's JSON (`"name":value,`). @internal */
export const entrySize = (name: string, value: Json): number => jsonStringSize(name) + valueSize(value) + 2

// the size of data counted once, or known from the unit that made it (`knownSize`): a write to a
// session whose data is the one a previous unit committed (the snapshot is shared between units, see
// snapshot.ts) costs what it changes, not a count of the whole session
const sizes = new WeakMap<Data, number>()

/** The bytes of the data's JSON (within one byte: the last comma). @internal */
export const dataSize = (data: Data): number => {
  const keep = worthKeeping(data)
  let size = keep ? sizes.get(data) : undefined
  if (size === undefined) {
    let total = 2
    HashMap.forEach(data, (value, name) => {
      total += entrySize(name, value)
    })
    size = total
    if (keep) sizes.set(data, size)
  }
  return size
}

/** Records the size of data its maker kept up to date, as {@link dataSize} would count it. @internal */
export const knownSize = (data: Data, size: number): void => {
  if (worthKeeping(data)) sizes.set(data, size)
}
