/**
 * `node dist/bench/kafka/profile-summary.js [--functions] <file.cpuprofile> [...]`: where a bench case's process spent its
 * time, from the `.cpuprofile` that `npm run bench -- kafka -- --cpu-prof` writes per Node case. Self time
 * is summed by where the code lives (idle, GC, kafkajs by folder, kafka-rx, rxjs, Node's own), over the
 * whole process (start-up included, about 0.3 s), and printed in ms and as a share, one column per file.
 *
 * ```text
 * where                          kafka-kafka_rx_ctp_noop-1.cpuprofile
 * (idle)                          5524 ms  63.8%
 * kafkajs producer/...             280 ms   3.2%
 * ```
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber?: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Where a function's code lives: a V8 pseudo-frame, a kafkajs folder, kafka-rx, rxjs, or Node itself. */
export function placeOf(frame: ProfileNode['callFrame']): string {
  const { functionName, url } = frame
  if (url === '' && functionName.startsWith('(')) return functionName // (idle), (garbage collector), (program)
  const pkg = /node_modules\/(.+)$/.exec(url)
  if (pkg !== null) {
    const parts = pkg[1]!.split('/')
    if (parts[0] === 'kafkajs') return `kafkajs ${parts.slice(2, parts.length > 4 ? 4 : 3).join('/')}`
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  const own = /\/dist\/((lib|operators)\/[^/]+)/.exec(url)
  if (own !== null) return `kafka-rx ${own[1]}`
  if (url.includes('/dist/bench/')) return 'the bench itself'
  return 'Node (built-ins, Buffer, sockets)'
}

/** Self time in ms per place, over the whole profile. */
export function selfTimeByPlace(profile: CpuProfile): Map<string, number> {
  const microsById = new Map<number, number>()
  profile.samples.forEach((id, i) => microsById.set(id, (microsById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const byPlace = new Map<string, number>()
  for (const node of profile.nodes) {
    const micros = microsById.get(node.id) ?? 0
    if (micros === 0) continue
    const place = placeOf(node.callFrame)
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros / 1000)
  }
  return byPlace
}

/** Self time in ms per function (its place, name, file and line), over the whole profile. */
export function selfTimeByFunction(profile: CpuProfile): Map<string, number> {
  const microsById = new Map<number, number>()
  profile.samples.forEach((id, i) => microsById.set(id, (microsById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const byFunction = new Map<string, number>()
  for (const node of profile.nodes) {
    const micros = microsById.get(node.id) ?? 0
    if (micros === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${placeOf(node.callFrame)}: ${functionName || '(anonymous)'} ${basename(url)}:${(lineNumber ?? -1) + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros / 1000)
  }
  return byFunction
}

function main(args: string[]): void {
  // --functions: one row per function (the top 40) in place of one per place.
  const byFunction = args.includes('--functions')
  const files = args.filter((a) => a !== '--functions')
  if (files.length === 0) {
    process.stderr.write('usage: node dist/bench/kafka/profile-summary.js [--functions] <file.cpuprofile> [...]\n')
    process.exitCode = 2
    return
  }
  const summarise = byFunction ? selfTimeByFunction : selfTimeByPlace
  const columns = files.map((file) => summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile))
  const totals = columns.map((c) => [...c.values()].reduce((a, b) => a + b, 0))
  const places = [...new Set(columns.flatMap((c) => [...c.keys()]))]
    .sort((a, b) => columns.reduce((s, c) => s + (c.get(b) ?? 0), 0) - columns.reduce((s, c) => s + (c.get(a) ?? 0), 0))
  const cell = (ms: number, total: number): string => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%`
  const width = byFunction ? 90 : 44
  process.stdout.write(`${'where'.padEnd(width)} ${files.map((f) => basename(f).slice(0, 40).padStart(40)).join(' ')}\n`)
  for (const place of places.slice(0, byFunction ? 40 : 30)) {
    process.stdout.write(`${place.slice(0, width).padEnd(width)} ${columns.map((c, i) => cell(c.get(place) ?? 0, totals[i]!).padStart(40)).join(' ')}\n`)
  }
  process.stdout.write(`${'total'.padEnd(width)} ${totals.map((t) => `${t.toFixed(0)} ms`.padStart(40)).join(' ')}\n`)
}

if (require.main === module) main(process.argv.slice(2))
