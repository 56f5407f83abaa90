/**
 * Compares one operators-bench case between two builds in ONE process, alternating, so that both meet the
 * same machine state (on a shared machine two processes of one build differ by up to 2x):
 * `node dist/bench/compare-builds.js <distA> <distB> <case> [pairs]`, each dist a `tsc` output directory
 * (e.g. a `git archive` of an older commit, built). Prints each build's median ms at 1,000,000 records and
 * the per-pair ratios B / A. A developer's tool: not part of `npm run bench`.
 *
 * @example
 * node --expose-gc dist/bench/compare-builds.js ../old/dist dist gbkc_sync 8
 * // prints: gbkc_sync @1000000: A <ms> ms, B <ms> ms (medians); B/A per pair <ratio> <ratio> ...
 */
import * as path from 'node:path'
import { median } from './measure'
import type { Case, CaseConfig } from './operators-cases'
import type { RecordShape } from './records'

interface Build {
  c: Case
  run: (c: Case, shape: RecordShape, count: number) => Promise<{ ms: number }>
}

const RECORDS = 1_000_000
const config: CaseConfig = { keys: 10_000, partitions: 12, concurrency: 256, warmup: 50_000, warmupRuns: 5, latencyMs: 5 }
const shape: RecordShape = { keys: config.keys, partitions: config.partitions }

function load(dist: string, name: string): Build {
  const cases = require(path.resolve(dist, 'bench', 'operators-cases.js')) as typeof import('./operators-cases')
  const c = cases.makeCases(config)[name]
  if (c === undefined) throw new RangeError(`compare-builds: no case ${name} in ${dist}`)
  return { c, run: cases.runChecked }
}

async function main([distA, distB, name, pairsArg = '8']: string[]): Promise<void> {
  if (distA === undefined || distB === undefined || name === undefined) {
    throw new Error('usage: node dist/bench/compare-builds.js <distA> <distB> <case> [pairs]')
  }
  const builds = [load(distA, name), load(distB, name)] as const
  for (let i = 0; i < config.warmupRuns; i++) for (const b of builds) await b.run(b.c, shape, config.warmup)
  const ms: [number[], number[]] = [[], []]
  for (let pair = 0; pair < Number(pairsArg); pair++) {
    // The first of each pair alternates, so that drift falls on both alike.
    for (const i of pair % 2 === 0 ? [0, 1] : [1, 0]) ms[i]!.push((await builds[i]!.run(builds[i]!.c, shape, RECORDS)).ms)
  }
  const ratios = ms[0].map((a, i) => (ms[1][i]! / a).toFixed(2))
  process.stdout.write(`${name} @${RECORDS}: A ${median(ms[0]).toFixed(0)} ms, B ${median(ms[1]).toFixed(0)} ms (medians); B/A per pair ${ratios.join(' ')}\n`)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
