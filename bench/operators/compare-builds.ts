/**
 * Compares one operators-bench case between two builds in ONE process, alternating, so that both meet the
 * same machine state (on a shared machine two processes of one build differ by up to 2x):
 * `node dist/bench/operators/compare-builds.js <distA> <distB> <case> [pairs]`, each dist a `tsc` output directory
 * (e.g. a `git archive` of an older commit, built). Prints each build's median ms at 1,000,000 records and
 * the per-pair ratios B / A. A developer's tool: not part of `npm run bench`.
 *
 * The build loaded first has an edge: both share one node_modules, so RxJS's own functions are compiled for
 * A's shapes before they meet B's (seen: the same two builds gave B/A 1.17 one way round and 1.02 the other).
 * Run both orders; their geometric mean, sqrt((B/A) / (A/B swapped)), is the comparison.
 *
 * @example
 * node --expose-gc dist/bench/operators/compare-builds.js ../old/dist dist gbkc_sync 8
 * // prints: gbkc_sync @1000000: A <ms> ms, B <ms> ms (medians); B/A per pair <ratio> <ratio> ...
 */
import * as path from 'node:path'
import { existsSync } from 'node:fs'
import { median } from '../shared/measure'
import type { CaseConfig } from './cases'
import { runPairs, type TimedRun } from './paired-runs'
import type { RecordShape } from '../shared/records'

const RECORDS = 1_000_000
const config: CaseConfig = { keys: 10_000, partitions: 12, concurrency: 256, warmup: 50_000, warmupRuns: 5, latencyMs: 5 }
const shape: RecordShape = { keys: config.keys, partitions: config.partitions }

/** The case `name` of the build in `dist`, run by that build's own harness. */
function load(dist: string, name: string): TimedRun {
  // Builds from before bench/ was split by suite kept the cases in bench/operators-cases.js.
  const file = [path.resolve(dist, 'bench', 'operators', 'cases.js'), path.resolve(dist, 'bench', 'operators-cases.js')].find((f) => existsSync(f))
  if (file === undefined) throw new RangeError(`compare-builds: no bench cases in ${dist}`)
  const cases = require(file) as typeof import('./cases')
  const c = cases.makeCases(config)[name]
  if (c === undefined) throw new RangeError(`compare-builds: no case ${name} in ${dist}`)
  return (count) => cases.runChecked(c, shape, count)
}

async function main([distA, distB, name, pairsArg = '8']: string[]): Promise<void> {
  if (distA === undefined || distB === undefined || name === undefined) {
    throw new Error('usage: node dist/bench/operators/compare-builds.js <distA> <distB> <case> [pairs]')
  }
  const m = await runPairs(load(distA, name), load(distB, name), config, RECORDS, Number(pairsArg))
  const ratios = m.baseMs.map((a, i) => (m.otherMs[i]! / a).toFixed(2))
  process.stdout.write(`${name} @${RECORDS}: A ${median(m.baseMs).toFixed(0)} ms, B ${median(m.otherMs).toFixed(0)} ms (medians); B/A per pair ${ratios.join(' ')}\n`)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
