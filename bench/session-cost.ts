import { performance, PerformanceObserver } from 'node:perf_hooks'
import type { ConsumerEventLike, ConsumerRunConfigLike, EachBatchPayloadLike, KafkaBatchLike, KafkaConsumerLike, KafkaMessageLike } from '../lib/kafka-client'
import { fromKafka } from '../lib/kafka-source'
import { recordKey } from '../lib/record-key'
import { commitOffsets } from '../operators/commit-offsets'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { orderedMerge } from '../operators/ordered-merge'
import { collectGarbage, median, roundTo } from './measure'

/**
 * `npm run bench -- session [--json]`: kafka-rx's own cost per record under kafkajs's `eachBatch`, without a
 * broker. The Kafka bench's `noop_vs_raw` is kafkajs's per-record cost over kafkajs's plus ours, and on this
 * machine one raw run differs from the next by up to 2x; this suite measures the second term alone, steadily:
 *
 * ```text
 * kafkajs-shaped batches (built before the clock starts) --eachBatch--> fromKafka --> groupByKeyConcat(recordKey, () => [])
 *   --> orderedMerge --> commitOffsets            (the kafka_rx_noop case of bench/kafka-cases.ts)
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

function parseArgs(args: string[]): Options | undefined {
  const o: Options = { json: false, rounds: 20, warmupRounds: 5, batches: 48, batchSize: 4_000 }
  const flags: Record<string, keyof Omit<Options, 'json'>> = {
    '--rounds': 'rounds',
    '--warmup-rounds': 'warmupRounds',
    '--batches': 'batches',
    '--batch-size': 'batchSize',
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--json') o.json = true
    else if (a === '--help') {
      process.stdout.write(
        'npm run bench -- session [options]\n  --json             one JSON object as the last line of stdout\n' +
          '  --rounds N         measured rounds (default 20)      --warmup-rounds N  unmeasured first (default 5)\n' +
          '  --batches N        batches a round, over 12 partitions (default 48)\n  --batch-size N     messages a batch (default 4000)\n',
      )
      return undefined
    } else if (flags[a] !== undefined) {
      const n = Number(args[++i])
      if (!Number.isInteger(n) || n < (a === '--warmup-rounds' ? 0 : 1)) throw new RangeError(`session bench: ${a} needs a positive integer`)
      o[flags[a]] = n
    } else throw new RangeError(`session bench: unknown option ${a} (see --help)`)
  }
  return o
}

const PARTITIONS = 12
const KEYS = 1_000
const KEY_STRIDE = 16

/** The pipeline of the kafka_rx_noop case on a broker-less consumer stand-in, and batches to feed it. */
class SessionHarness {
  #finished: () => number = () => 0
  // GC pauses as reported (asynchronously, so later than they happen), placed in time by their start.
  readonly #gcPauses: { start: number; ms: number }[] = []
  readonly #observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.#gcPauses.push({ start: entry.startTime, ms: entry.duration })
  })
  // All keys as views of one buffer, as kafkajs slices them out of a fetch response.
  readonly #keyBytes = Buffer.alloc(KEYS * KEY_STRIDE)
  readonly #keyLengths: number[] = []
  readonly #value = Buffer.alloc(64, 'x')
  readonly #nextOffset = new Array<number>(PARTITIONS).fill(0)
  #seed = 1

  private constructor(readonly consumer: StandInConsumer) {
    for (let k = 0; k < KEYS; k++) this.#keyLengths.push(this.#keyBytes.write(`key-${k}`, k * KEY_STRIDE))
    this.#observer.observe({ entryTypes: ['gc'] })
  }

  static async start(): Promise<SessionHarness> {
    const consumer = new StandInConsumer()
    const harness = new SessionHarness(consumer)
    const source = fromKafka(consumer, { topics: ['t'], maxInFlight: 10_000 })
    const noWork: never[] = []
    source
      .pipe(
        groupByKeyConcat(recordKey, () => noWork, { concurrency: 512, skip: (r) => source.isStale(r) }),
        orderedMerge(),
        commitOffsets(source, { interval: 1_000 }),
      )
      .subscribe({ error: (error: unknown) => { throw error } })
    // Counted as the kafka suite counts (commitOffsets finishes each record in the tracker), not by a stage
    // of the bench's own in the pipeline.
    harness.#finished = () => source.tracker.totalFinished
    await consumer.running
    return harness
  }

  makeBatches(count: number, size: number): KafkaBatchLike[] {
    const batches: KafkaBatchLike[] = []
    for (let b = 0; b < count; b++) {
      const partition = b % PARTITIONS
      const messages: KafkaMessageLike[] = []
      for (let i = 0; i < size; i++) {
        const k = Math.floor(this.#random() * KEYS)
        const offset = String(this.#nextOffset[partition]!++)
        const key = this.#keyBytes.subarray(k * KEY_STRIDE, k * KEY_STRIDE + this.#keyLengths[k]!)
        messages.push({ offset, key, value: this.#value, timestamp: '1700000000000', headers: {} })
      }
      const last = messages[messages.length - 1]!.offset
      batches.push({ topic: 't', partition, messages, highWatermark: last, lastOffset: () => last })
    }
    return batches
  }

  /** Delivers the batches one after another; ns per record, and the GC pauses in that window per record. */
  async deliver(batches: KafkaBatchLike[]): Promise<{ ns: number; gcNs: number }> {
    const before = this.#finished()
    const t0 = performance.now()
    for (const batch of batches) await this.consumer.eachBatch(payloadOf(batch))
    const t1 = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 10)) // the window's GC entries are reported
    const records = this.#finished() - before
    if (records !== batches.length * batches[0]!.messages.length) throw new Error(`session bench: ${records} records processed`)
    const gcMs = this.#gcPauses.filter((p) => p.start >= t0 && p.start < t1).reduce((sum, p) => sum + p.ms, 0)
    this.#gcPauses.length = 0
    return { ns: ((t1 - t0) * 1e6) / records, gcNs: (gcMs * 1e6) / records }
  }

  /** Heap growth per record over one batch, from a window with no GC in it (undefined if none of 5 was). */
  async bytesPerRecord(size: number): Promise<number | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [batch] = this.makeBatches(1, size)
      const t0 = performance.now()
      const heap = process.memoryUsage().heapUsed
      await this.consumer.eachBatch(payloadOf(batch!))
      const grown = process.memoryUsage().heapUsed - heap
      const t1 = performance.now()
      await new Promise((resolve) => setTimeout(resolve, 10))
      const collected = this.#gcPauses.some((p) => p.start >= t0 && p.start < t1)
      this.#gcPauses.length = 0
      if (!collected) return grown / size
    }
    return undefined
  }

  stop(): void {
    this.#observer.disconnect()
  }

  #random(): number {
    this.#seed = (Math.imul(this.#seed, 1103515245) + 12345) & 0x7fffffff
    return this.#seed / 0x80000000
  }
}

function payloadOf(batch: KafkaBatchLike): EachBatchPayloadLike {
  return { batch, resolveOffset: () => undefined, heartbeat: async () => undefined, isRunning: () => true, isStale: () => false }
}

/** Just enough of a kafkajs consumer: one member owning partitions 0-11 of topic `t`, commits accepted. */
class StandInConsumer implements KafkaConsumerLike {
  readonly events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash', STOP: 'stop' }
  eachBatch!: ConsumerRunConfigLike['eachBatch']
  readonly #listeners = new Map<string, ((event: ConsumerEventLike<unknown>) => void)[]>()
  #started!: () => void
  readonly running = new Promise<void>((resolve) => (this.#started = resolve))

  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(config: ConsumerRunConfigLike): Promise<void> {
    this.eachBatch = config.eachBatch
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p)
    for (const listener of this.#listeners.get(this.events.GROUP_JOIN) ?? []) listener({ payload: { memberAssignment: { t: partitions } } })
    this.#started()
  }
  async commitOffsets(): Promise<void> {}
  pause(): void {}
  resume(): void {}
  async stop(): Promise<void> {}
  async disconnect(): Promise<void> {}
  on(eventName: string, listener: (event: ConsumerEventLike<any>) => void): () => void {
    const list = this.#listeners.get(eventName) ?? []
    list.push(listener)
    this.#listeners.set(eventName, list)
    return () => list.splice(list.indexOf(listener), 1)
  }
}
