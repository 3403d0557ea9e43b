/**
 * `npx tsx bench/churn.ts`: what a `delete` and a `set` of the same key cost in a small `Map`, while
 * the Map is young and once it is in V8's old generation, against a `set` of a key already there
 * and a `get`. The reason the lock table keeps free entries and the memory store replaces its most
 * recent entry in place (src/internal/locks.ts, src/internal/memoryStore.ts): a long-lived Map is
 * an old one, and a delete and an insert per request cost several times more there.
 *
 * Each figure is ns per operation pair, the median of 5 runs of 200 000, with a fresh key string
 * each time (as a request's session id is): its hashing (about 0.1 µs) is in every row.
 */
import * as v8 from "node:v8"
import { runInNewContext } from "node:vm"

v8.setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const N = 200_000
const header = `session=${"k".repeat(43)}.${"s".repeat(43)}`
const key = () => header.slice(8, 51)
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const time = (f: () => void) => {
  const runs: Array<number> = []
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint()
    f()
    runs.push(Number(process.hrtime.bigint() - start) / N)
  }
  return median(runs)
}
const churn = (map: Map<string, unknown>) => () => {
  for (let i = 0; i < N; i++) {
    const k = key()
    map.delete(k)
    map.set(k, { i })
  }
}
const inPlace = (map: Map<string, unknown>) => () => {
  for (let i = 0; i < N; i++) map.set(key(), { i })
}
const lookup = (map: Map<string, unknown>) => () => {
  for (let i = 0; i < N; i++) if (map.get(key()) === N) throw new Error("unreachable")
}
const fresh = () => new Map<string, unknown>([[key(), 0]])

const rows: Array<[string, number, number]> = []
const young = [fresh(), fresh(), fresh()] as const
const youngFigures = [time(churn(young[0])), time(inPlace(young[1])), time(lookup(young[2]))]
const old = [fresh(), fresh(), fresh()] as const
gc()
gc()
const oldFigures = [time(churn(old[0])), time(inPlace(old[1])), time(lookup(old[2]))]
const names = ["delete + set of the key", "set of the key, already there", "get"]
for (let i = 0; i < 3; i++) rows.push([names[i]!, youngFigures[i]!, oldFigures[i]!])

console.log(`# A one-key Map, young and old (npx tsx bench/churn.ts), Node ${process.version}\n`)
console.log("| operation | young: ns | old: ns |")
console.log("|---|---:|---:|")
for (const [name, y, o] of rows) console.log(`| ${name} | ${y.toFixed(0)} | ${o.toFixed(0)} |`)
