/**
 * `node dist/bench/kafka/platformatic-pairs.js [--records N] [--rounds N] [--warmups N] [--cpu-prof] [--kafkajs] [--against DIST]`:
 * only the platformatic pair of the kafka suite (`platformatic_raw`, `kafka_rx_platformatic_noop`; with
 * `--kafkajs` the kafkajs pair too), run in rounds on one topic as the suite runs them (paired-cases.ts), for
 * profiling the adapter and measuring `noop_vs_raw` on bigger topics than the whole suite can afford. Needs
 * Node >= 22.22 and `KAFKA_BROKERS` (or starts a broker). With `--cpu-prof` every case writes a `.cpuprofile`
 * into the current directory, for profile-summary.js.
 *
 * `--against DIST` (another commit's `tsc` output, e.g. a built `git archive`): each round runs every case of
 * that build too, right after this build's, on the same topic, so that a change is judged against the same
 * machine load (on this shared machine two runs minutes apart differ by up to 2x). Builds from before
 * bench/ was split by suite keep their cases in bench/kafka-cases.js; a case a build lacks is skipped.
 *
 * ```text
 * round 1 platformatic_raw             250,112 records/s  6.1 CPU µs/record
 * round 1 kafka_rx_platformatic_noop   101,334 records/s  13.9 CPU µs/record
 * noop_vs_raw platformatic  median 0.405  rounds 0.405, ...
 * ```
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ensureKafka } from '../../lib/testing/kafka-broker'
import { median } from '../shared/measure'
import type { CaseResult, CaseSpec, NodeCaseName } from './cases'
import { CLIENT_CASES, pairedCaseNames, roundOrder, roundRatios, type Round } from './paired-cases'
import { DEFAULTS, produce, runNodeCase } from './suite'

/** The cases script of the build in `dist`, whichever layout it has. */
function casesScript(dist: string): string {
  const file = [path.resolve(dist, 'bench', 'kafka', 'cases.js'), path.resolve(dist, 'bench', 'kafka-cases.js')].find((f) => existsSync(f))
  if (file === undefined) throw new RangeError(`platformatic-pairs: no kafka bench cases in ${dist}`)
  return file
}

const RATE = (r: CaseResult): string => `${Math.round(r.records_per_s).toLocaleString('en-US').padStart(9)} records/s  ${r.cpu_us_per_record} CPU µs/record`

async function main(args: string[]): Promise<void> {
  const flag = (name: string): boolean => args.includes(name)
  const number = (name: string, fallback: number): number => {
    const i = args.indexOf(name)
    if (i < 0) return fallback
    const value = Number(args[i + 1])
    if (!Number.isInteger(value) || value < 0) throw new Error(`platformatic-pairs: ${name} needs a non-negative integer, received ${args[i + 1]}`)
    return value
  }
  const records = number('--records', 100_000)
  const rounds = number('--rounds', 4)
  const warmups = number('--warmups', 0)
  const clients = CLIENT_CASES.filter((c) => c.client === 'platformatic' || flag('--kafkajs'))
  const paired = pairedCaseNames(clients)
  const againstAt = args.indexOf('--against')
  const against = againstAt < 0 ? undefined : casesScript(args[againstAt + 1] ?? '')
  const own = path.join(__dirname, 'cases.js')
  const broker = await ensureKafka({ jvmArgs: [] })
  try {
    const topic = `bench-pairs-${randomBytes(3).toString('hex')}`
    const options = { ...DEFAULTS, records }
    await produce(broker.brokers, topic, options)
    process.stdout.write(`node ${process.version}, ${records} records, ${options.partitions} partitions, ${rounds} rounds, ${warmups} warm-ups, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`)
    const builds = against === undefined ? [{ label: 'this build', script: own }] : [{ label: 'this build', script: own }, { label: 'against', script: against }]
    const all = new Map<string, Round[]>(builds.map((b) => [b.label, []]))
    for (let round = 1; round <= rounds; round++) {
      const results = new Map<string, Round>(builds.map((b) => [b.label, {}]))
      for (const name of roundOrder(round, paired)) {
        for (const build of round % 2 === 1 ? builds : [...builds].reverse()) {
          const spec: CaseSpec = {
            name, brokers: broker.brokers, topic, groupId: `${topic}-${name}-${round}-${builds.indexOf(build)}`, records, partitions: options.partitions,
            workMs: 0, concurrency: options.concurrency, maxInFlight: options.maxInFlight, timeoutMs: Math.max(120_000, records / 10), warmups,
          }
          const result = await runNodeCase(spec, flag('--cpu-prof'), build.script).catch((error: Error) => error)
          if (result instanceof Error) {
            process.stdout.write(`round ${round} ${name.padEnd(28)} ${build.label}: ${result.message.split('\n')[0]}\n`)
            continue
          }
          results.get(build.label)![name as NodeCaseName] = result
          process.stdout.write(`round ${round} ${name.padEnd(28)} ${build.label.padEnd(10)} ${RATE(result)}\n`)
        }
      }
      for (const build of builds) all.get(build.label)!.push(results.get(build.label)!)
    }
    for (const build of builds) {
      const done = all.get(build.label)!
      for (const { client, raw, noop } of clients) {
        const ratios = roundRatios(done, noop!, raw)
        if (ratios.length === 0) continue
        const cpu = (name: NodeCaseName): string => median(done.flatMap((r) => (r[name]?.cpu_us_per_record == null ? [] : [r[name]!.cpu_us_per_record!]))).toFixed(2)
        process.stdout.write(`${build.label.padEnd(10)} noop_vs_raw ${client.padEnd(13)} median ${median(ratios).toFixed(3)}  rounds ${ratios.join(', ')}  median CPU µs/record raw ${cpu(raw)}, kafka-rx ${cpu(noop!)}\n`)
      }
    }
    process.stdout.write(`load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`)
  } finally {
    await broker.stop()
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exitCode = 1
  })
}
