/**
 * The `@platformatic/kafka` ceiling, beside kafkajs's `raw_each_batch`: its consumer stream read with nothing
 * done per record and no kafka-rx, one commit per partition at the end, the same topic from the beginning with
 * a fresh group. Loaded only when the case runs: the package does not run on Node < 22.22 (see runtime.ts).
 */
import type { Message } from '@platformatic/kafka' with { 'resolution-mode': 'import' }
import type { CaseSpec } from './cases'
import type { Clock } from './clock'

/** `platformatic_raw`: the stream's 'data' events counted by offset, then the last offset of each partition committed. */
export async function platformaticRaw(spec: CaseSpec, clock: Clock): Promise<void> {
  const { Consumer } = await import('@platformatic/kafka')
  const consumer = new Consumer({ groupId: spec.groupId, clientId: `bench-${spec.name}`, bootstrapBrokers: spec.brokers })
  // As for kafkajs (GROUP_JOIN), the clock starts at the first assignment: connecting and joining are left out.
  consumer.on('consumer:group:join', () => clock.started())
  // The next offset counted and the last message seen, per partition: a record delivered again after a rejoin
  // is not counted twice, and the last message's commit() commits its offset + 1 with its leader epoch.
  const next = new Map<number, bigint>()
  const last = new Map<number, Message>()
  try {
    // committed, else earliest: kafkajs's fromBeginning for a fresh group.
    const stream = await consumer.consume({ topics: [spec.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
    stream.on('error', (error: Error) => clock.fail(error))
    stream.on('data', (message: Message) => {
      if (message.offset < (next.get(message.partition) ?? 0n)) return
      next.set(message.partition, message.offset + 1n)
      last.set(message.partition, message)
      clock.processed(1)
    })
    await clock.done
    stream.pause()
    await Promise.all([...last.values()].map((message) => message.commit()))
    await stream.close()
  } finally {
    await consumer.close(true)
  }
}
