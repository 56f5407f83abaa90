/**
 * `kafka_rx_platformatic_noop`: the `kafka_rx_noop` pipeline (fromKafka, groupByKeyConcat on recordKey,
 * orderedMerge, commitOffsets, no work) over `@platformatic/kafka` through `kafka-rx/platformatic`, beside
 * `platformatic_raw` on the same topic: their ratio is that client's `noop_vs_raw`. Loaded only when the case
 * runs (the package needs Node >= 22.22, see runtime.ts).
 */
import { platformaticConsumer } from '../../lib/client/platformatic'
import { recordKey } from '../../lib/record/record-key'
import { fromKafka } from '../../lib/source/from-kafka'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import type { CaseSpec } from './cases'
import { runToEnd, type Clock } from './clock'

const NO_WORK: never[] = []

/** Runs the no-op pipeline over a `@platformatic/kafka` consumer of the case's group until the topic is done. */
export async function kafkaRxPlatformaticNoop(spec: CaseSpec, clock: Clock): Promise<void> {
  const { Consumer } = await import('@platformatic/kafka')
  // The same client options as platformatic_raw (its default, classic, group protocol), so the ratio is kafka-rx's.
  const consumer = new Consumer({ groupId: spec.groupId, clientId: `bench-${spec.name}`, bootstrapBrokers: spec.brokers })
  // As in platformatic_raw: the clock starts at the first assignment, connecting and joining are left out.
  consumer.on('consumer:group:join', () => clock.started())
  const source = fromKafka(platformaticConsumer(consumer, { maxQueued: Math.max(20_000, spec.maxInFlight) }), {
    topics: [spec.topic],
    fromBeginning: true,
    maxInFlight: spec.maxInFlight,
  })
  const subscription = source
    .pipe(
      groupByKeyConcat(recordKey, () => NO_WORK, { concurrency: spec.concurrency, skip: (r) => source.isStale(r) }),
      orderedMerge(),
      commitOffsets(source, { interval: 1_000 }),
    )
    .subscribe({ error: (error) => clock.fail(error) })
  await runToEnd(source, subscription, clock)
}
