/**
 * The Node cases of the kafka benchmark (bench/kafka/suite.ts), each run in a child process of its own, so that
 * its peak RSS is its own and no case warms up (or fragments the heap of) the next:
 * `node dist/bench/kafka/cases.js '<CaseSpec as JSON>'` prints one {@link CaseResult} as a JSON line.
 *
 * Every case consumes the same topic from the beginning with a fresh group. The clock runs from the group
 * join (the first assignment: connecting and joining are left out, alike for every case, the JVM one too)
 * to the last record processed; the final commit is made after the clock stops, and then checked.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs'
import { fromKafka } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { roundTo } from '../shared/measure'
import { Clock, countBatch, made, runToEnd } from './clock'
import { handwrittenCtp, kafkaRxCtp } from './ctp'
import { kafkaRxCtpEos } from './eos-case'
import { kafkaRxPlatformaticNoop } from './platformatic-noop'
import { platformaticRaw } from './platformatic-raw'
import type { BenchClient } from './runtime'

/** The Node cases, by name. */
export type NodeCaseName =
  | 'raw_each_batch' | 'kafka_rx_noop' | 'each_message_work' | 'kafka_rx_work'
  // kafka_rx_noop with fromKafka's offsetMap on: its cost (offset_map_cost, issue 17)
  | 'kafka_rx_noop_offset_map'
  // consume-transform-produce (ctp.ts)
  | 'ctp_handwritten_noop' | 'kafka_rx_ctp_noop' | 'ctp_handwritten_work' | 'kafka_rx_ctp_work'
  // the same, exactly-once (eos-case.ts)
  | 'kafka_rx_ctp_eos'
  // the second client, raw (platformatic-raw.ts; Node >= 22.22 only, see runtime.ts)
  | 'platformatic_raw'
  // kafka-rx over the second client, no work (platformatic-noop.ts; Node >= 22.22 only)
  | 'kafka_rx_platformatic_noop'

/** The client each case consumes with: the platformatic cases are skipped on a Node they do not run on. */
export const CASE_CLIENT: Readonly<Record<NodeCaseName, BenchClient>> = {
  raw_each_batch: 'kafkajs', kafka_rx_noop: 'kafkajs', kafka_rx_noop_offset_map: 'kafkajs', each_message_work: 'kafkajs', kafka_rx_work: 'kafkajs',
  ctp_handwritten_noop: 'kafkajs', kafka_rx_ctp_noop: 'kafkajs', ctp_handwritten_work: 'kafkajs', kafka_rx_ctp_work: 'kafkajs',
  kafka_rx_ctp_eos: 'kafkajs', platformatic_raw: 'platformatic', kafka_rx_platformatic_noop: 'platformatic',
}

/** What a child process is asked to run. */
export interface CaseSpec {
  name: NodeCaseName
  brokers: string[]
  topic: string
  groupId: string
  /** Records on the topic: the case is done once it processed this many (or `sampleRecords`). */
  records: number
  partitions: number
  workMs: number
  concurrency: number
  maxInFlight: number
  /** Stop after this many records (the slow eachMessage case measures a sample). Default: all. */
  sampleRecords?: number
  /** Stop after this many ms of consuming, whichever comes first. Default: none. */
  sampleMs?: number
  /** Give up after this many ms. */
  timeoutMs: number
  /**
   * Unmeasured passes over the whole topic first, in this process, each with a group of its own, so that the
   * measured pass runs warm (JIT-compiled) code as a long-running consumer does. Default: 0 (a cold process).
   */
  warmups?: number
  /** kafka-rx cases: commit with the offset map (fromKafka's offsetMap option). Default: false. */
  offsetMap?: boolean
}

/** One case's figures, as the child prints them. */
export interface CaseResult {
  name: string
  records: number
  ms: number
  records_per_s: number
  /** CPU time of this process (all its threads: GC, compiler, libuv) over the same span, per record, in µs. */
  cpu_us_per_record: number | null
  /**
   * Wall time inside kafkajs's eachBatch calls (START/END_BATCH_PROCESS) over the same span, per record, in µs:
   * the case's own handling of what was fetched (for kafka-rx, its pipeline; for raw, nearly nothing), apart
   * from kafkajs's fetching and decoding, which are outside eachBatch. Null for the JVM and platformatic
   * cases (the latter have no eachBatch).
   */
  each_batch_us_per_record: number | null
  peak_rss_mib: number
  /**
   * Bytes allocated on the V8 heap over the span per record (a lower bound, see HeapGrowth in clock.ts); null
   * for the cases that do not measure it (all but the consume-transform-produce ones).
   */
  bytes_per_record: number | null
  /** Transactions committed per second over the span (the exactly-once cases; null for the others). */
  transactions_per_s?: number | null
  /**
   * MiB of Fetch responses the consumer received over the span (null for the JVM and platformatic cases). Every case reads the
   * same topic once, so more than the raw case's figure is data fetched (and decoded by kafkajs) twice.
   */
  fetched_mib: number | null
  /** True when the case stopped at a sample bound rather than at the end of the topic. */
  sampled: boolean
  /** False when the consumer did not shut down within 15 s after the last record (kafka-rx cases). */
  closed: boolean
  /** Records left uncommitted by the group once the case was over (null when not checked: a sample). */
  lag: number | null
  /**
   * ms from the group join (the clock's start) to the first record the pipeline finished: the kafka-rx cases
   * over kafkajs only (absent for the others). What the offset map's read-back at assignment adds shows here.
   */
  first_finish_ms?: number
}

const NO_WORK: never[] = []
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs one case against the broker and resolves with its figures. */
export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  for (let i = 1; i <= (spec.warmups ?? 0); i++) await measure({ ...spec, groupId: `${spec.groupId}-warm-up-${i}` }, false)
  return measure(spec, true)
}

async function measure(spec: CaseSpec, checkLag: boolean): Promise<CaseResult> {
  const kafka = new Kafka({ clientId: `bench-${spec.name}`, brokers: spec.brokers, logLevel: logLevel.NOTHING })
  const target = Math.min(spec.records, spec.sampleRecords ?? Infinity)
  const clock = new Clock(target, spec.sampleMs)
  const timeout = setTimeout(() => clock.fail(new Error(`${spec.name}: ${clock.count} of ${target} records after ${spec.timeoutMs} ms`)), spec.timeoutMs)
  try {
    switch (spec.name) {
      case 'raw_each_batch':
        await rawEachBatch(kafka, spec, clock)
        break
      case 'each_message_work':
        await eachMessageWork(kafka, spec, clock)
        break
      case 'kafka_rx_noop':
      case 'kafka_rx_noop_offset_map':
      case 'kafka_rx_work':
        await kafkaRx(kafka, spec, clock)
        break
      case 'ctp_handwritten_noop':
      case 'ctp_handwritten_work':
        await handwrittenCtp(kafka, spec, clock)
        break
      case 'kafka_rx_ctp_noop':
      case 'kafka_rx_ctp_work':
        await kafkaRxCtp(kafka, spec, clock)
        break
      case 'kafka_rx_ctp_eos':
        await kafkaRxCtpEos(kafka, spec, clock)
        break
      case 'platformatic_raw':
        await platformaticRaw(spec, clock)
        break
      case 'kafka_rx_platformatic_noop':
        await kafkaRxPlatformaticNoop(spec, clock)
        break
    }
  } finally {
    clearTimeout(timeout)
  }
  const ms = clock.ms
  const sampled = clock.count < spec.records
  const firstFinish = firstFinishes.get(spec.groupId) ?? {}
  return {
    name: spec.name,
    records: clock.count,
    ms: roundTo(ms, 1),
    records_per_s: roundTo((clock.count * 1000) / ms, 1),
    cpu_us_per_record: roundTo((clock.cpuMs * 1000) / clock.count, 2),
    each_batch_us_per_record: CASE_CLIENT[spec.name] === 'kafkajs' ? roundTo((clock.eachBatchMs * 1000) / clock.count, 3) : null,
    // maxRSS: the kernel's high-water mark of this process, in KiB.
    peak_rss_mib: roundTo(process.resourceUsage().maxRSS / 1024, 1),
    bytes_per_record: clock.allocatedBytes === undefined ? null : roundTo(clock.allocatedBytes / clock.count, 0),
    transactions_per_s: clock.transactions === undefined ? null : roundTo((clock.transactions * 1000) / ms, 1),
    // Counted from kafkajs's REQUEST events: not measured for the other client.
    fetched_mib: CASE_CLIENT[spec.name] === 'kafkajs' ? roundTo(clock.fetchedBytes / (1 << 20), 1) : null,
    sampled,
    closed: clock.closed,
    lag: sampled || !checkLag ? null : await lagOf(kafka, spec),
    ...(firstFinish.ms === undefined ? {} : { first_finish_ms: roundTo(firstFinish.ms, 1) }),
  }
}

/** Case 1, the client ceiling: kafkajs eachBatch, nothing done per record, one commit at the end. */
async function rawEachBatch(kafka: Kafka, spec: CaseSpec, clock: Clock): Promise<void> {
  const consumer = made(kafka, spec, clock)
  const next = new Map<number, bigint>()
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [spec.topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return
        countBatch(next, batch, clock)
      },
    })
    await clock.done
    await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic: spec.topic, partition, offset: offset.toString() })))
  } finally {
    await consumer.disconnect()
  }
}

/** Case 3, what Node users write today: eachMessage, one record at a time per partition, 12 partitions at once. */
async function eachMessageWork(kafka: Kafka, spec: CaseSpec, clock: Clock): Promise<void> {
  const consumer = made(kafka, spec, clock)
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [spec.topic], fromBeginning: true })
    await consumer.run({
      partitionsConsumedConcurrently: spec.partitions,
      eachMessage: async () => {
        if (clock.finished) return
        await sleep(spec.workMs)
        clock.processed(1)
      },
    })
    await clock.done
  } finally {
    await consumer.disconnect()
  }
}

/**
 * Cases 2 and 3 with kafka-rx: the demo's pipeline (fromKafka, groupByKeyConcat on recordKey, orderedMerge,
 * commitOffsets), with no work (case 2, and kafka_rx_noop_offset_map: the same with the offset map) or
 * `workMs` of asynchronous work per record (case 3).
 */
async function kafkaRx(kafka: Kafka, spec: CaseSpec, clock: Clock): Promise<void> {
  const work = spec.name === 'kafka_rx_work'
  const consumer = made(kafka, spec, clock, work ? {
      // As in the demo: a fair share of the in-flight budget per partition, so that every partition (and
      // its keys) is in flight at once rather than one partition's 1 MB batch taking the whole budget.
      maxBytesPerPartition: Math.max(16 * 1024, Math.ceil(spec.maxInFlight / spec.partitions / 2) * 100),
      maxWaitTimeInMs: 100,
    } : {})
  const admin = spec.offsetMap === true || spec.name === 'kafka_rx_noop_offset_map' ? kafka.admin() : undefined
  await admin?.connect()
  const source = fromKafka(consumer, {
    topics: [spec.topic],
    fromBeginning: true,
    maxInFlight: spec.maxInFlight,
    ...(admin === undefined ? {} : { offsetMap: { admin, groupId: spec.groupId } }),
  })
  const project = work ? () => sleep(spec.workMs) : () => NO_WORK
  watchFirstFinish(consumer, source, spec.groupId)
  const subscription = source
    .pipe(
      groupByKeyConcat(recordKey, project, { concurrency: spec.concurrency, skip: (r) => source.isStale(r) }),
      orderedMerge(),
      commitOffsets(source, { interval: 1_000 }),
    )
    .subscribe({ error: (error) => clock.fail(error) })
  try {
    await runToEnd(source, subscription, clock)
  } finally {
    await admin?.disconnect()
  }
}

// The first finish after the group join, per case run (its group): read by measure() into the result.
const firstFinishes = new Map<string, { ms?: number }>()

/** Notes, every millisecond from the group join until one is seen, when the source's tracker first finished a record. */
function watchFirstFinish(consumer: Consumer, source: { tracker: { totalFinished: number } }, groupId: string): void {
  const entry: { ms?: number } = {}
  firstFinishes.set(groupId, entry)
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (entry.ms !== undefined) return
    const joined = performance.now()
    const timer = setInterval(() => {
      if (source.tracker.totalFinished === 0) return
      entry.ms = performance.now() - joined
      clearInterval(timer)
    }, 1)
  })
}

/** Records of the topic the case's group has not committed. */
async function lagOf(kafka: Kafka, spec: CaseSpec): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [committed] = await admin.fetchOffsets({ groupId: spec.groupId, topics: [spec.topic] })
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]))
    let lag = 0
    for (const { partition, high } of await admin.fetchTopicOffsets(spec.topic)) lag += Number(high) - (at.get(partition) ?? 0)
    return lag
  } finally {
    await admin.disconnect()
  }
}

if (require.main === module) {
  runCase(JSON.parse(process.argv[2] ?? '{}') as CaseSpec).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exit(1)
    },
  )
}
