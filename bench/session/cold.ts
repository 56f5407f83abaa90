import { forkJson, median, parseIntOptions, roundTo } from '../shared/measure'
import { SessionHarness } from './harness'

/**
 * `npm run bench -- session-cold [--json]`: kafka-rx's own cost per record in a process that has run nothing
 * before, as the kafka suite's `kafka_rx_noop` runs (a fresh process, 200,000 records). There, kafka-rx's
 * share of the time is mostly not its steady cost (the warm `session` suite) but the JIT's warm-up and the
 * deoptimizations of its first second; this suite measures that share alone, without a broker's noise:
 *
 * ```text
 * for each of --processes fresh processes:
 *   kafkajs-shaped batches (made before the clock starts) --eachBatch--> fromKafka --> groupByKeyConcat(recordKey, () => [])
 *     --> orderedMerge --> commitOffsets        timed from the first batch to the last, once
 * ```
 *
 * Batches go round-robin over 12 partitions, `--batch-size` messages each, like a first fetch's (kafkajs
 * hands over one partition's records at a time). Reported: ns per record over the whole run, the first
 * batch's ms (code not yet optimized) and ns per record after it, each the median over the processes.
 *
 * @example
 * npm run bench -- session-cold                 # table
 * npm run bench -- session-cold --processes 5   # fewer processes
 */
export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args)
  if (o === undefined) return
  const runs: ColdRun[] = []
  for (let i = 0; i < o.processes; i++) runs.push(forkJson<ColdRun>(__filename, ['child', String(o.batches), String(o.batchSize)]))
  const records = o.batches * o.batchSize
  const report = {
    suite: 'session-cold',
    records,
    processes: o.processes,
    ns_per_record: roundTo(median(runs.map((r) => r.ns)), 1),
    first_batch_ms: roundTo(median(runs.map((r) => r.batchMs[0]!)), 2),
    after_first_ns_per_record: roundTo(median(runs.map((r) => afterFirst(r, o.batchSize))), 1),
    gc_ns_per_record: roundTo(median(runs.map((r) => r.gcNs)), 1),
    processes_ns_per_record: runs.map((r) => roundTo(r.ns, 1)),
  }
  process.stdout.write(
    `kafka-rx under eachBatch, no broker, cold: the first ${records} records of a fresh process, median of ${o.processes} processes\n` +
      `  ${report.ns_per_record} ns per record (of which GC pauses ${report.gc_ns_per_record}); first batch ${report.first_batch_ms} ms, ` +
      `${report.after_first_ns_per_record} ns per record after it\n  processes: ${report.processes_ns_per_record.join(' ')}\n`,
  )
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`)
}

/** One process's figures: ns and GC ns per record over all batches, and each batch's ms. */
interface ColdRun {
  ns: number
  gcNs: number
  batchMs: number[]
}

function afterFirst(r: ColdRun, batchSize: number): number {
  const records = (r.batchMs.length - 1) * batchSize
  return records === 0 ? NaN : (r.batchMs.slice(1).reduce((a, b) => a + b, 0) * 1e6) / records
}

interface Options {
  json: boolean
  processes: number
  batches: number
  batchSize: number
}

const HELP = `npm run bench -- session-cold [options]
  --json             one JSON object as the last line of stdout
  --processes N      fresh processes, each measured once (default 10)
  --batches N        batches, round-robin over 12 partitions (default 16)
  --batch-size N     messages a batch (default 12500)
`

function parseArgs(args: string[]): Options | undefined {
  const defaults: Options = { json: false, processes: 10, batches: 16, batchSize: 12_500 }
  const flags = { '--processes': 'processes', '--batches': 'batches', '--batch-size': 'batchSize' } as const
  return parseIntOptions('session-cold', args, defaults, flags, HELP)
}

/** The measured process: one pass over fresh batches, its figures as a JSON line. */
async function child(batches: number, batchSize: number): Promise<void> {
  const harness = await SessionHarness.start()
  const made = harness.makeBatches(batches, batchSize)
  const batchMs: number[] = []
  const { ns, gcNs } = await harness.deliver(made, batchMs)
  harness.stop()
  process.stdout.write(`${JSON.stringify({ ns, gcNs, batchMs } satisfies ColdRun)}\n`)
  // The source's commit timer and the stand-in's state are not worth an orderly shutdown here.
  process.exit(0)
}

if (require.main === module && process.argv[2] === 'child') {
  child(Number(process.argv[3]), Number(process.argv[4])).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  })
}
