/**
 * The exactly-once case of the kafka benchmark (issue 16): `kafka_rx_ctp_eos`, the consume-transform-produce
 * workload of `kafka_rx_ctp_noop` (ctp.ts: each record's key and value copied into a message for an output
 * topic of the case's own, no work) with `publish` + `commitOffsets` replaced by `publishTransactional` with
 * its defaults (interval 100 ms, maxBatchSize 1,000, one transactional producer per input partition).
 *
 * A record counts once the transaction holding its output and its input offset committed (the operator
 * finishes it in the tracker then, and runToEnd counts finished records); the transactions committed within
 * the span are counted too, for transactions/s.
 */
import type { Kafka } from 'kafkajs'
import { tap } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { isDecodeFailure } from '../../lib/record/decoders'
import { recordKey } from '../../lib/record/record-key'
import { publishTransactional } from '../../lib/transactions/publish-transactional'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { drop, forward, type OutputMessage, type Result } from '../../operators/result'
import { type Clock, made, runToEnd } from './clock'
import type { CaseSpec } from './cases'
import { createOutputTopic, transform } from './ctp'

/**
 * Runs `kafka_rx_ctp_eos`: fromKafka -> groupByKeyConcat -> orderedMerge -> publishTransactional.
 *
 * @example
 * await kafkaRxCtpEos(kafka, spec, clock) // clock.count: records committed; clock.transactions: transactions
 */
export async function kafkaRxCtpEos(kafka: Kafka, spec: CaseSpec, clock: Clock): Promise<void> {
  const topic = await createOutputTopic(kafka, spec)
  // The admin reads a partition's committed offset once its new producer fenced the older ones.
  const admin = kafka.admin()
  await admin.connect()
  const consumer = made(kafka, spec, clock)
  clock.measureAllocation()
  clock.countTransactions()
  const source = fromKafka(consumer, { topics: [spec.topic], fromBeginning: true, maxInFlight: spec.maxInFlight })
  // No decoders: never a DecodeFailure (dropped, were there one), as in kafka_rx_ctp_noop.
  const result = (r: SourceRecord<Buffer | null, Buffer | null>): Result<OutputMessage>[] =>
    [isDecodeFailure(r) ? drop('undecodable') : forward(transform(r.key, r.value))]
  const subscription = source
    .pipe(
      groupByKeyConcat(recordKey, result, { concurrency: spec.concurrency, skip: (r) => source.isStale(r) }),
      orderedMerge(),
      publishTransactional(source, {
        consumerGroupId: spec.groupId, topic, admin,
        producer: (transactionalId) => kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }),
      }),
      tap(() => clock.transactionCommitted()),
    )
    .subscribe({ error: (error) => clock.fail(error) })
  try {
    await runToEnd(source, subscription, clock)
  } finally {
    await admin.disconnect()
  }
}
