import { performance, PerformanceObserver } from 'node:perf_hooks'
import type { ConsumerEventLike, ConsumerRunConfigLike, EachBatchPayloadLike, KafkaBatchLike, KafkaConsumerLike, KafkaMessageLike } from '../../lib/client/consumer'
import { fromKafka } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'

const PARTITIONS = 12
const KEYS = 1_000
const KEY_STRIDE = 16

/**
 * The session suites' harness (bench/session/cost.ts warm, bench/session/cold.ts cold): the no-op pipeline of
 * the kafka suite's `kafka_rx_noop` case on a broker-less consumer stand-in, and kafkajs-shaped batches to feed
 * it. Messages look like kafkajs 2.2.4's: offsets as decimal strings, keys as views of one shared buffer
 * (kafkajs slices them out of the fetch response), 64-byte values, `headers: {}`.
 *
 * @example
 * const harness = await SessionHarness.start()
 * const { ns } = await harness.deliver(harness.makeBatches(48, 4_000))
 */
export class SessionHarness {
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

  /**
   * Delivers the batches one after another; ns per record, and the GC pauses in that window per record. With
   * `batchMs`, each batch's own time (its eachBatch call) is pushed onto it.
   */
  async deliver(batches: KafkaBatchLike[], batchMs?: number[]): Promise<{ ns: number; gcNs: number }> {
    const before = this.#finished()
    const t0 = performance.now()
    for (const batch of batches) {
      const start = batchMs === undefined ? 0 : performance.now()
      await this.consumer.eachBatch(payloadOf(batch))
      batchMs?.push(performance.now() - start)
    }
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
  async stop(): Promise<void> {}
  async disconnect(): Promise<void> {}
  on(eventName: string, listener: (event: ConsumerEventLike<any>) => void): () => void {
    const list = this.#listeners.get(eventName) ?? []
    list.push(listener)
    this.#listeners.set(eventName, list)
    return () => list.splice(list.indexOf(listener), 1)
  }
}
