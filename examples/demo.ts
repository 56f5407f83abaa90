/**
 * The kafka-rx demo, the first thing to run: `npm run demo` (flags: `npm run demo -- --help`).
 *
 * 1. Starts a local Kafka broker (unless `KAFKA_BROKERS` names one) and creates `orders-<run>` (12 partitions)
 *    and `charges-<run>`.
 * 2. Produces 200,000 orders over 5,000 customers, a few of them very hot (Zipf).
 * 3. Charges them with a kafka-rx pipeline, shown live from the library's own `pipelineStats` (rate, in flight,
 *    active keys, lag per partition), as a service would show them:
 *
 *    fromKafka ─▶ groupByKeyConcat(customer, charge, 512 at once) ─▶ orderedMerge ─▶ publish ─▶ commitOffsets
 *                 one customer at a time,                            partition      to charges,  gap-safe,
 *                 many customers concurrently                        order again    acks -1      every second
 *
 * 4. Stops once every produced record is committed, and checks the outcome from its own bookkeeping
 *    (`DemoLedger`) and from the broker: nothing lost, per-customer order kept, zero lag. The last line says
 *    so; the exit code is 0 only when it holds. Ctrl-C (or SIGTERM) stops gracefully: it aborts the source's
 *    `signal`, so nothing more is fetched, the records in flight finish (up to `--drain-timeout-ms`), the
 *    final commit is acknowledged, then consumer, producer and broker stop. A second Ctrl-C quits at once.
 */
import { randomBytes } from 'node:crypto'
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs'
import { tap, type ObservableInput } from 'rxjs'
import { isDecodeFailure, jsonDecoder, stringDecoder } from '../lib/decoders'
import { DrainTimeoutError } from '../lib/drain'
import { fromKafka, type KafkaSource, type SourceRecord } from '../lib/kafka-source'
import { PipelineMetrics } from '../lib/pipeline-metrics'
import { pipelineStats } from '../lib/pipeline-stats'
import { publish } from '../lib/publish'
import { recordKey } from '../lib/record-key'
import type { PipelineStats } from '../lib/stats-sampler'
import { ensureKafka, type LocalKafka } from '../lib/testing/kafka-broker'
import { commitOffsets } from '../operators/commit-offsets'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { orderedMerge } from '../operators/ordered-merge'
import { forward, type OutputMessage, type Result } from '../operators/result'
import { parseDemoArgs, type DemoOptions } from './demo-args'
import { LiveStatus, bar, count, duration } from './demo-display'
import { DemoLedger } from './demo-ledger'
import { Interrupt, KafkaLogs, killOnExit, stopBroker } from './demo-process'
import { pipelineFrame, printSummary, type PipelineResult } from './demo-report'
import { produceWorkload, type Order, type ProducedWorkload } from './demo-workload'

/** What the pipeline writes to the output topic for each order. */
interface Charge {
  readonly orderId: number
  readonly customer: string
  readonly amount: number
  readonly status: 'charged'
}

type OrderRecord = SourceRecord<string | null, Order | null>

const COMMIT_INTERVAL_MS = 1_000
// publish sends what accumulated for up to 5 ms (at most 2,000 records) per request.
const FORWARD_LINGER_MS = 5
const FORWARD_MAX_BATCH = 2_000
/** How often the live display's figures are sampled (`pipelineStats`'s interval: its rates are over it). */
const STATS_INTERVAL_MS = 250
/** No record processed and nothing committed for this long while records are left: a stall, not a hang. */
const STALL_MS = 60_000

const out = process.stdout
const say = (line = ''): void => void out.write(line + '\n')
/** The live status on screen, if any: a line printed meanwhile must go through it, or the redraw garbles it. */
let activeStatus: LiveStatus | undefined
const announce = (line: string): void => (activeStatus !== undefined ? activeStatus.print(line) : say(line))

async function main(): Promise<number> {
  const parsed = parseDemoArgs(process.argv.slice(2))
  if (parsed.kind === 'help') {
    out.write(parsed.text)
    return 0
  }
  if (parsed.kind === 'error') {
    process.stderr.write(parsed.text)
    return 2
  }
  const options = parsed.options
  const startedAt = Date.now()
  const interrupt = new Interrupt(() => announce(
    `Stopping: nothing more is fetched; the records in flight finish (up to ${duration(options.drainTimeoutMs)}), ` +
    'then the final commit, disconnect, stop the broker. (Ctrl-C again to quit at once.)'))
  const run = randomBytes(3).toString('hex')
  const input = `orders-${run}`
  const output = `charges-${run}`

  let broker: LocalKafka | undefined
  let admin: Admin | undefined
  let producer: Producer | undefined
  const kafkaLogs = new KafkaLogs()
  try {
    const external = (process.env.KAFKA_BROKERS ?? '').trim() !== ''
    say(external
      ? `Using the Kafka broker at ${process.env.KAFKA_BROKERS} (KAFKA_BROKERS).`
      : 'Starting a local Kafka broker (the first run fetches its jars from Maven Central, ~45 MB)...')
    const brokerStart = Date.now()
    // detached: the broker gets its own process group, so a Ctrl-C in the terminal reaches only this process,
    // which then shuts the pipeline down first and stops the broker last. killOnExit covers a crash.
    broker = await ensureKafka({ detached: true })
    killOnExit(broker)
    if (!external) say(`Kafka ${broker.version} ready at ${broker.brokers.join(',')} in ${duration(Date.now() - brokerStart)}.`)
    if (interrupt.requested) return interrupt.exitCode

    const kafka = new Kafka({
      clientId: `kafka-rx-demo-${run}`,
      brokers: broker.brokers,
      logLevel: logLevel.ERROR,
      logCreator: kafkaLogs.creator,
    })
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      waitForLeaders: true,
      topics: [input, output].map(topic => ({ topic, numPartitions: options.partitions })),
    })
    say(`Created ${input} and ${output}, ${options.partitions} partitions each.`)
    // Ctrl-C aborts it: the source stops fetching and drains (see runPipeline).
    const shutdown = new AbortController()
    interrupt.onRequest(() => shutdown.abort())

    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
    await producer.connect()
    const workload = await produce(producer, input, options, interrupt)
    const ends = await endOffsets(admin, input, options.partitions)

    const ledger = new DemoLedger(workload.records, workload.perPartition)
    const groupId = `kafka-rx-demo-${run}`
    const consumer = kafka.consumer({
      groupId,
      // kafkajs fetches up to 1 MB per partition: ~10,000 of these small records, so one partition's batch
      // could take the whole in-flight budget and the others would wait (few keys to run concurrently, and
      // each partition's hot customer in turn on the critical path). Fetch a fair share of the budget per
      // partition instead, so every partition, and its hot customers, is in flight at once.
      maxBytesPerPartition: fetchBytesPerPartition(options),
      // All partitions paused (budget used) makes kafkajs sleep this long before it looks again: short, so
      // fetching resumes soon after the budget frees up.
      maxWaitTimeInMs: 100,
    })
    const source = fromKafka(consumer, {
      topics: [input],
      fromBeginning: true,
      maxInFlight: options.maxInFlight,
      keyDecoder: stringDecoder,
      valueDecoder: jsonDecoder<Order>(),
      signal: shutdown.signal,
      drainTimeout: options.drainTimeoutMs,
    })
    const result = await runPipeline(source, producer, ledger, { input, output, ends, options, interrupt })

    const { lag: finalLag, committed } = await committedOffsets(admin, groupId, input, options.partitions)
    const committedUnforwarded = ledger.committedUnforwarded(committed)
    const outputRecords = sum(await endOffsets(admin, output, options.partitions))
    await producer.disconnect()
    await admin.disconnect()
    producer = admin = undefined
    // Every check the summary marks, not only the three of the last line.
    const ok = ledger.lost === 0 && ledger.keyOrderViolations === 0 && ledger.partitionOrderViolations === 0 &&
      finalLag === 0 && committedUnforwarded === 0 && ledger.unexpected === 0 && result.error === undefined &&
      ledger.maxRunning <= options.concurrency && result.peakInFlight <= options.maxInFlight
    printSummary(out, {
      ledger, workload, options, result, finalLag, committedUnforwarded, outputRecords, output, kafkaLogs,
      commitIntervalMs: COMMIT_INTERVAL_MS, wallMs: Date.now() - startedAt,
    })
    await stopBroker(broker, out)
    say(`demo: ${ledger.processed} records, lost ${ledger.lost}, key-order violations ${ledger.keyOrderViolations}, final lag ${finalLag}`)
    if (interrupt.requested) return interrupt.exitCode
    return ok ? 0 : 1
  } catch (error) {
    activeStatus?.stop()
    activeStatus = undefined
    process.stderr.write(`\ndemo: failed: ${(error as Error)?.stack ?? String(error)}\n`)
    for (const line of kafkaLogs.last) process.stderr.write(`  kafkajs: ${line}\n`)
    return interrupt.requested ? interrupt.exitCode : 1
  } finally {
    await producer?.disconnect().catch(() => undefined)
    await admin?.disconnect().catch(() => undefined)
    if (broker !== undefined) await stopBroker(broker, out)
    interrupt.dispose()
  }
}

// ---- phases -----------------------------------------------------------------------------------------------

async function produce(producer: Producer, topic: string, options: DemoOptions, interrupt: Interrupt): Promise<ProducedWorkload> {
  const started = Date.now()
  let acked = 0
  const status = new LiveStatus(out, () => {
    const f = acked / options.records
    return {
      lines: [`Producing   ${bar(f, 40)} ${(100 * f).toFixed(1).padStart(5)}%  ${count(acked)} / ${count(options.records)} orders`],
      compact: `producing: ${count(acked)} / ${count(options.records)} orders acknowledged`,
    }
  })
  status.start()
  activeStatus = status
  const workload = await produceWorkload(producer, {
    topic,
    records: options.records,
    keys: options.keys,
    partitions: options.partitions,
    skew: options.skew,
    onProgress: n => (acked = n),
    aborted: () => interrupt.requested,
  })
  status.stop()
  activeStatus = undefined
  const ms = Date.now() - started
  const { customer, share } = workload.hottest
  const stopped = workload.records < options.records ? ` (stopped early, of ${count(options.records)})` : ''
  say(`Produced ${count(workload.records)} orders${stopped} over ${count(options.keys)} customers in ${duration(ms)} ` +
    `(${count((workload.records * 1000) / Math.max(1, ms))}/s, acks -1); the hottest customer, ${customer}, ` +
    `placed ${(100 * share).toFixed(1)}% of them.`)
  return workload
}

interface PipelineContext {
  readonly input: string
  readonly output: string
  /** End offset (high watermark) of each input partition: done when all are committed. */
  readonly ends: readonly number[]
  readonly options: DemoOptions
  readonly interrupt: Interrupt
}

/** Runs the pipeline until every record is committed (or Ctrl-C, an error, a stall), then shuts it down. */
async function runPipeline(
  source: KafkaSource<string | null, Order | null>,
  producer: Producer,
  ledger: DemoLedger,
  context: PipelineContext,
): Promise<PipelineResult> {
  const { input, output, ends, options, interrupt } = context
  const started = Date.now()
  // Stopped while producing: nothing to consume, and the group should not even join.
  if (interrupt.requested) return { ms: 0, commits: 0, peakInFlight: 0, outcome: 'interrupted' }
  const committed = new Array<number>(options.partitions).fill(0)
  const allCommitted = (): boolean => ends.every((end, p) => committed[p]! >= end)
  let commits = 0
  let peakInFlight = 0
  let lastProgress = started

  // One charge per order, forwarded to the input record's partition of the output topic; or none (a drop) for
  // a record that is not an order (publish errors on an undecodable one: `decodeFailures: 'fail'`).
  const charge = (record: OrderRecord): ObservableInput<Result<OutputMessage>> => {
    if (isDecodeFailure(record) || record.value === null) {
      ledger.undecodable()
      return []
    }
    const order = record.value
    ledger.started(order)
    // Stands for a call to a payment service: random latency, mean `workMs`.
    return sleep(options.workMs * 2 * Math.random()).then(() => {
      ledger.completed(order)
      const charged: Charge = { orderId: order.orderId, customer: order.customer, amount: order.amount, status: 'charged' }
      return forward({ key: order.customer, value: JSON.stringify(charged), partition: record.partition })
    })
  }

  // The library's own figures for the live display, as a service would read them (README: Live stats).
  const metrics = new PipelineMetrics()
  const pipeline = source.pipe(
    tap(() => {
      peakInFlight = Math.max(peakInFlight, source.tracker.inFlight)
    }),
    groupByKeyConcat(recordKey, charge, { concurrency: options.concurrency, skip: record => source.isStale(record), metrics }),
    tap(() => ledger.settled()),
    orderedMerge(),
    tap(() => ledger.sending(1)),
    // Each record leaves publish once its charge is acknowledged (acks -1), in partition order: only then
    // may it be committed.
    publish(producer, { topic: output, lingerMs: FORWARD_LINGER_MS, batchSize: FORWARD_MAX_BATCH, decodeFailures: 'fail', metrics }),
    tap(({ item, results }) => {
      const order = results.length > 0 && item.value !== null && !isDecodeFailure(item) ? item.value : undefined
      ledger.acknowledged(item.partition, item.offset, order)
    }),
    commitOffsets(source, { interval: COMMIT_INTERVAL_MS }),
  )

  let stats: PipelineStats | undefined
  const statsSubscription = pipelineStats(source, { interval: STATS_INTERVAL_MS, metrics }).subscribe(snapshot => (stats = snapshot))
  const status = new LiveStatus(out, () => pipelineFrame({ ...context, stats, ledger, committed, commits, started }))
  say(`Consuming ${input} with kafka-rx (Ctrl-C stops gracefully)...`)
  status.start()
  activeStatus = status

  type Outcome = { kind: PipelineResult['outcome']; error?: unknown }
  let finish!: (outcome: Outcome) => void
  const finished = new Promise<Outcome>(resolve => (finish = resolve))
  // Ctrl-C aborted the source's signal (see main): the pipeline completes once the records in flight finished
  // and their final commit went out, or errors with a DrainTimeoutError.
  let drain: PipelineResult['drain']
  const subscription = pipeline.subscribe({
    next: commit => {
      commits++
      lastProgress = Date.now()
      for (const o of commit.offsets) {
        if (o.topic === input) committed[o.partition] = Math.max(committed[o.partition]!, Number(o.offset))
      }
      if (allCommitted()) finish({ kind: 'done' })
    },
    error: error => {
      if (drain !== undefined && error instanceof DrainTimeoutError) drain = { ...drain, unfinished: error.unfinished }
      finish({ kind: interrupt.requested ? 'interrupted' : 'error', error })
    },
    complete: () => finish(interrupt.requested
      ? { kind: 'interrupted' }
      : { kind: 'error', error: new Error('the pipeline completed before every record was committed') }),
  })
  if (allCommitted()) finish({ kind: 'done' }) // nothing to consume
  interrupt.onRequest(() => {
    drain = { inFlight: source.tracker.inFlight, unfinished: 0 }
    announce(`Draining: ${count(drain.inFlight)} records in flight.`)
  })
  let processedBefore = 0
  const watchdog = setInterval(() => {
    // Progress is a commit or a processed record (a slow --work-ms may hold commits back for a while).
    if (ledger.processed !== processedBefore) lastProgress = Date.now()
    processedBefore = ledger.processed
    if (Date.now() - lastProgress > STALL_MS) finish({ kind: 'stalled' })
  }, 1_000)

  const outcome = await finished
  clearInterval(watchdog)
  statsSubscription.unsubscribe()
  status.stop({ final: true })
  activeStatus = undefined
  const ms = Date.now() - started
  // Done or stalled: unsubscribing stops delivery; the source then commits what finished, stops and disconnects
  // the consumer. (After a drain the pipeline has ended already, and this does nothing.)
  subscription.unsubscribe()
  let error = outcome.error
  try {
    await source.closed()
  } catch (shutdownError) {
    error ??= shutdownError
  }
  if (outcome.kind === 'stalled') error ??= new Error(`no progress for ${STALL_MS / 1000} s with records left`)
  return { ms, commits, peakInFlight, outcome: outcome.kind, error, drain }
}

// ---- Kafka helpers ----------------------------------------------------------------------------------------

/** About half of a partition's fair share of the in-flight budget, at ~100 bytes per record on the wire. */
function fetchBytesPerPartition(options: DemoOptions): number {
  const records = Math.ceil(options.maxInFlight / options.partitions / 2)
  return Math.min(1024 * 1024, Math.max(16 * 1024, records * 100))
}

/** End offsets (high watermarks) per partition. */
async function endOffsets(admin: Admin, topic: string, partitions: number): Promise<number[]> {
  const ends = new Array<number>(partitions).fill(0)
  for (const { partition, high } of await admin.fetchTopicOffsets(topic)) ends[partition] = Number(high)
  return ends
}

/**
 * The group's committed offsets per partition (0 where it committed nothing: the topic is fresh), and the
 * lag: end offsets minus committed offsets.
 */
async function committedOffsets(admin: Admin, groupId: string, topic: string, partitions: number): Promise<{ lag: number; committed: number[] }> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  const committed = new Array<number>(partitions).fill(0)
  for (const { partition, offset } of offsets?.partitions ?? []) committed[partition] = Math.max(0, Number(offset))
  let lag = 0
  for (const { partition, high } of await admin.fetchTopicOffsets(topic)) lag += Math.max(0, Number(high) - committed[partition]!)
  return { lag, committed }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

main().then(
  code => out.write('', () => process.exit(code)),
  error => {
    process.stderr.write(`demo: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(1)
  },
)
