import { collectGarbage, median, parseIntOptions, roundTo } from '../shared/measure'
import { SessionHarness } from './harness'

/**
 * `npm run bench -- session [--json]`: kafka-rx's own cost per record under kafkajs's `eachBatch`, without a
 * broker. The Kafka bench's `noop_vs_raw` is kafkajs's per-record cost over kafkajs's plus ours, and on this
 * machine one raw run differs from the next by up to 2x; this suite measures the second term alone, steadily:
 *
 * ```text
 * kafkajs-shaped batches (built before the clock starts) --eachBatch--> fromKafka --> groupByKeyConcat(recordKey, () => [])
 *   --> orderedMerge --> commitOffsets            (the kafka_rx_noop case of bench/kafka/cases.ts)
 * ```
 *
 * Messages look like kafkajs 2.2.4's: offsets as decimal strings, keys as views of one shared buffer (kafkajs
 * slices them out of the fetch response), 64-byte values, `headers: {}`. The consumer stand-in only hands
 * batches to `eachBatch` and accepts commits. Each round builds `--batches` batches of `--batch-size`
 * messages over 12 partitions and 1,000 keys, then times their delivery; a round's messages are all alive
 * while it runs, as a fetch response's are. Reported: ns per record (median of the rounds after
 * `--warmup-rounds`), the garbage collector's pauses in the same windows per record, and bytes allocated
 * per record (heap growth over a window with no GC in it).
 *
 * @example
 * npm run bench -- session            # table
 * npm run bench -- session --json     # then one JSON object as the last line
 */
export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args)
  if (o === undefined) return
  const harness = await SessionHarness.start()
  const ns: number[] = []
  const gcNs: number[] = []
  for (let round = 0; round < o.warmupRounds + o.rounds; round++) {
    // Every round starts from the same heap: the last round's batches are gone, not promoted by this one.
    collectGarbage()
    const batches = harness.makeBatches(o.batches, o.batchSize)
    const m = await harness.deliver(batches)
    if (round >= o.warmupRounds) {
      ns.push(m.ns)
      gcNs.push(m.gcNs)
    }
  }
  const bytes = await harness.bytesPerRecord(o.batchSize)
  harness.stop()
  const report = {
    suite: 'session',
    records_per_round: o.batches * o.batchSize,
    rounds: o.rounds,
    ns_per_record: roundTo(median(ns), 1),
    gc_ns_per_record: roundTo(median(gcNs), 1),
    bytes_per_record: bytes === undefined ? null : roundTo(bytes, 1),
    rounds_ns_per_record: ns.map((x) => roundTo(x, 1)),
  }
  process.stdout.write(
    `kafka-rx under eachBatch, no broker: ${report.records_per_round} records a round, median of ${o.rounds} rounds after ${o.warmupRounds} warm-ups\n` +
      `  ${report.ns_per_record} ns per record (of which GC pauses ${report.gc_ns_per_record}), ${report.bytes_per_record ?? '-'} bytes allocated per record\n` +
      `  rounds: ${report.rounds_ns_per_record.join(' ')}\n`,
  )
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`)
  // The source's commit timer and the stand-in's state are not worth an orderly shutdown here.
  process.exit(0)
}

interface Options {
  json: boolean
  rounds: number
  warmupRounds: number
  batches: number
  batchSize: number
}

const HELP =
  'npm run bench -- session [options]\n  --json             one JSON object as the last line of stdout\n' +
  '  --rounds N         measured rounds (default 20)      --warmup-rounds N  unmeasured first (default 5)\n' +
  '  --batches N        batches a round, over 12 partitions (default 48)\n  --batch-size N     messages a batch (default 4000)\n'

function parseArgs(args: string[]): Options | undefined {
  const defaults: Options = { json: false, rounds: 20, warmupRounds: 5, batches: 48, batchSize: 4_000 }
  const flags = { '--rounds': 'rounds', '--warmup-rounds': 'warmupRounds', '--batches': 'batches', '--batch-size': 'batchSize' } as const
  return parseIntOptions('session', args, defaults, flags, HELP, { '--warmup-rounds': 0 })
}
