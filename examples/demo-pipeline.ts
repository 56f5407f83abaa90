/**
 * The demo's kafka-rx pipeline, what it shows off: source, operators and sinks, as a service would write them.
 *
 *    fromKafka ─▶ groupByKeyConcat(customer, charge) ─▶ orderedMerge ─▶ publish ─▶ commitOffsets
 */
import type { Consumer, Producer } from 'kafkajs'
import { tap, type Observable, type ObservableInput } from 'rxjs'
import { isDecodeFailure, jsonDecoder, stringDecoder } from '../lib/record/decoders'
import { fromKafka, type KafkaSource, type SourceRecord } from '../lib/source/from-kafka'
import type { PipelineMetrics } from '../operators/pipeline-metrics'
import { publish } from '../lib/publish/publish'
import { recordKey } from '../lib/record/record-key'
import { commitOffsets, type Commit } from '../operators/commit-offsets'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { orderedMerge } from '../operators/ordered-merge'
import { forward, type OutputMessage, type Result } from '../operators/result'
import type { DemoOptions } from './demo-args'
import type { DemoLedger } from './demo-ledger'
import type { Order } from './demo-workload'

/** The input topic's records: customer keys and orders, as the source decodes them. */
export type OrderSource = KafkaSource<string | null, Order | null>

type OrderRecord = SourceRecord<string | null, Order | null>

/** What the pipeline writes to the output topic for each order. */
interface Charge {
  readonly orderId: number
  readonly customer: string
  readonly amount: number
  readonly status: 'charged'
}

/** How often the pipeline commits (the summary says so too). */
export const COMMIT_INTERVAL_MS = 1_000
// publish sends what accumulated for up to 5 ms (at most 2,000 records) per request.
const FORWARD_LINGER_MS = 5
const FORWARD_MAX_BATCH = 2_000

/**
 * The source of the input topic, from the beginning, with the in-flight budget and drain timeout of
 * `options`. Aborting `signal` stops it gracefully: nothing more is fetched and the records in flight finish.
 *
 * @example
 * const source = orderSource(orderConsumer(kafka, groupId, options), 'orders-1a2b', options, shutdown.signal)
 */
export function orderSource(consumer: Consumer, topic: string, options: DemoOptions, signal: AbortSignal): OrderSource {
  return fromKafka(consumer, {
    topics: [topic],
    fromBeginning: true,
    maxInFlight: options.maxInFlight,
    keyDecoder: stringDecoder,
    valueDecoder: jsonDecoder<Order>(),
    signal,
    drainTimeout: options.drainTimeoutMs,
  })
}

/** Where {@link chargePipeline} writes, how hard it works, and where it reports. */
export interface ChargePipelineSetup {
  /** The output topic. */
  readonly output: string
  readonly options: DemoOptions
  /** Shared with `pipelineStats`, for the live display. */
  readonly metrics: PipelineMetrics
}

/** The pipeline, not yet subscribed. */
export interface ChargePipeline {
  /** The commits the broker acknowledged; subscribing runs the pipeline. */
  readonly commits: Observable<Commit>
  /** Most records in flight seen at once so far (sampled as each record arrives). */
  readonly peakInFlight: number
}

/**
 * Charges every order of `source` and publishes the charge to the output topic, one customer at a time and
 * many customers concurrently, then commits what is finished, gap-safe, every second. Each step reports to
 * `ledger`, which checks the run from outside the library.
 *
 * @example
 * const { commits } = chargePipeline(source, producer, ledger, { output: 'charges-1a2b', options, metrics })
 * commits.subscribe(commit => console.log(commit.offsets))
 */
export function chargePipeline(source: OrderSource, producer: Producer, ledger: DemoLedger, setup: ChargePipelineSetup): ChargePipeline {
  const { output, options, metrics } = setup
  let peakInFlight = 0

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

  const commits = source.pipe(
    tap(() => {
      peakInFlight = Math.max(peakInFlight, source.tracker.inFlight)
    }),
    groupByKeyConcat(recordKey, charge, { concurrency: options.concurrency, skip: record => source.isStale(record), metrics }),
    tap(() => ledger.settled()),
    orderedMerge(),
    tap(() => ledger.sending(1)),
    // Each record leaves publish once its charge is acknowledged (acks -1), in partition order: only then
    // may it be committed.
    publish(producer, { topic: output, linger: FORWARD_LINGER_MS, maxBatchSize: FORWARD_MAX_BATCH, decodeFailures: 'fail', metrics }),
    tap(({ item, results }) => {
      const order = results.length > 0 && item.value !== null && !isDecodeFailure(item) ? item.value : undefined
      ledger.acknowledged(item.partition, item.offset, order)
    }),
    commitOffsets(source, { interval: COMMIT_INTERVAL_MS }),
  )
  return {
    commits,
    get peakInFlight() {
      return peakInFlight
    },
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
