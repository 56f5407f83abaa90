/**
 * The consume-transform-produce cases of the kafka benchmark (issue 20, part 3): what users actually run,
 * each record read, transformed and written to an output topic, its input committed only after the output is
 * acknowledged. kafka-rx's pipeline against the fastest a user would write by hand with kafkajs alone:
 *
 * - `ctp_handwritten_noop` / `ctp_handwritten_work`: kafkajs `eachBatch` (one batch per partition at once,
 *   `partitionsConsumedConcurrently` = partitions), each batch's transformed messages sent with `sendBatch`
 *   (in chunks of 1,000, all at once), then kafkajs resolves the batch and commits (its defaults: after every batch), so a commit
 *   never passes an unsent output. With work: `workMs` per record, the batch's work run with `Promise.all`
 *   (key order not kept).
 * - `kafka_rx_ctp_noop` / `kafka_rx_ctp_work`: fromKafka -> groupByKeyConcat (per-key order) -> orderedMerge ->
 *   publish -> commitOffsets, the same transform (and work).
 *
 * The transform copies key and value into a new message; both sides use the same default kafkajs producer
 * (acks -1) and write to an output topic of their own with as many partitions as the input.
 */
import { Kafka, type Consumer, type Producer } from 'kafkajs'
import type { ObservableInput } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { isDecodeFailure } from '../../lib/record/decoders'
import { recordKey } from '../../lib/record/record-key'
import { publish } from '../../lib/publish/publish'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { drop, forward, type OutputMessage, type Result } from '../../operators/result'
import { type Clock, countBatch, made, runToEnd } from './clock'
import type { CaseSpec } from './cases'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
// Messages per sendBatch of the hand-written case: well under the broker's 1 MB per record batch.
const SEND_CHUNK = 1_000

/** The transform both sides run: a new message with the record's key and value. */
export const transform = (key: Buffer | null, value: Buffer | null): { key: Buffer | null; value: Buffer | null } => ({ key, value })

/**
 * Creates the case's output topic, `<groupId>-out`, with as many partitions as the input (before the clock
 * starts, at the group join); the exactly-once cases (eos-case.ts, the JVM one) use it too.
 */
export async function createOutputTopic(kafka: Kafka, spec: Pick<CaseSpec, 'groupId' | 'partitions'>): Promise<string> {
  const topic = `${spec.groupId}-out`
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: spec.partitions }] })
  } finally {
    await admin.disconnect()
  }
  return topic
}

/** Creates the case's output topic and connects its producer; both before the clock starts (at the group join). */
async function output(kafka: Kafka, spec: CaseSpec): Promise<{ topic: string; producer: Producer }> {
  const topic = await createOutputTopic(kafka, spec)
  const producer = kafka.producer()
  await producer.connect()
  return { topic, producer }
}

/** The hand-written case: eachBatch, the batch's work with Promise.all, one sendBatch, then kafkajs commits. */
export async function handwrittenCtp(kafka: Kafka, spec: CaseSpec, clock: Clock): Promise<void> {
  const work = spec.name === 'ctp_handwritten_work'
  const { topic, producer } = await output(kafka, spec)
  const consumer: Consumer = made(kafka, spec, clock)
  clock.measureAllocation()
  const next = new Map<number, bigint>()
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [spec.topic], fromBeginning: true })
    await consumer.run({
      partitionsConsumedConcurrently: spec.partitions,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return
        if (work) await Promise.all(batch.messages.map(() => sleep(spec.workMs)))
        const messages = batch.messages.map((m) => transform(m.key, m.value))
        // In chunks, all sent at once: a whole 1 MB fetch in one sendBatch lands in one output partition (the
        // same keys, the same partitioner) and the broker refuses a record batch over message.max.bytes (1 MB).
        const sends: Promise<unknown>[] = []
        for (let at = 0; at < messages.length; at += SEND_CHUNK) {
          sends.push(producer.sendBatch({ topicMessages: [{ topic, messages: messages.slice(at, at + SEND_CHUNK) }] }))
        }
        await Promise.all(sends)
        countBatch(next, batch, clock)
      },
    })
    await clock.done
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
  }
}

/** The kafka-rx case: per-key order, results in partition order, published, then committed. */
export async function kafkaRxCtp(kafka: Kafka, spec: CaseSpec, clock: Clock): Promise<void> {
  const work = spec.name === 'kafka_rx_ctp_work'
  const { topic, producer } = await output(kafka, spec)
  // As kafka_rx_work (and the demo): a fetch size per partition that fits the in-flight budget.
  const consumer = made(kafka, spec, clock, work ? {
    maxBytesPerPartition: Math.max(16 * 1024, Math.ceil(spec.maxInFlight / spec.partitions / 2) * 100),
    maxWaitTimeInMs: 100,
  } : {})
  clock.measureAllocation()
  const source = fromKafka(consumer, { topics: [spec.topic], fromBeginning: true, maxInFlight: spec.maxInFlight })
  // No decoders: never a DecodeFailure (dropped, were there one).
  const result = (r: SourceRecord<Buffer | null, Buffer | null>): Result<OutputMessage> =>
    isDecodeFailure(r) ? drop('undecodable') : forward(transform(r.key, r.value))
  const project: (r: SourceRecord<Buffer | null, Buffer | null>) => ObservableInput<Result<OutputMessage>> = work
    ? async (r: SourceRecord<Buffer | null, Buffer | null>) => {
      await sleep(spec.workMs)
      return result(r)
    }
    : (r: SourceRecord<Buffer | null, Buffer | null>) => [result(r)]
  const subscription = source
    .pipe(
      groupByKeyConcat(recordKey, project, { concurrency: spec.concurrency, skip: (r) => source.isStale(r) }),
      orderedMerge(),
      publish(producer, { topic }),
      commitOffsets(source, { interval: 1_000 }),
    )
    .subscribe({ error: (error) => clock.fail(error) })
  try {
    await runToEnd(source, subscription, clock)
  } finally {
    await producer.disconnect()
  }
}
