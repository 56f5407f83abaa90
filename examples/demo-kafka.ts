/**
 * The demo's kafkajs side around the pipeline: the consumer it reads with, and the offsets it reads back
 * from the broker to check the outcome.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs'
import type { DemoOptions } from './demo-args'

/**
 * The consumer of the input topic, in group `groupId`, with fetch settings fitted to the in-flight budget.
 *
 * @example
 * const source = fromKafka(orderConsumer(kafka, 'kafka-rx-demo-1a2b', options), { topics: ['orders-1a2b'] })
 */
export function orderConsumer(kafka: Kafka, groupId: string, options: DemoOptions): Consumer {
  return kafka.consumer({
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
}

/** About half of a partition's fair share of the in-flight budget, at ~100 bytes per record on the wire. */
function fetchBytesPerPartition(options: DemoOptions): number {
  const records = Math.ceil(options.maxInFlight / options.partitions / 2)
  return Math.min(1024 * 1024, Math.max(16 * 1024, records * 100))
}

/**
 * End offsets (high watermarks) per partition.
 *
 * @example
 * const ends = await endOffsets(admin, 'orders-1a2b', 12) // [16712, 15980, ...]
 */
export async function endOffsets(admin: Admin, topic: string, partitions: number): Promise<number[]> {
  const ends = new Array<number>(partitions).fill(0)
  for (const { partition, high } of await admin.fetchTopicOffsets(topic)) ends[partition] = Number(high)
  return ends
}

/**
 * The group's committed offsets per partition (0 where it committed nothing: the topic is fresh), and the
 * lag: end offsets minus committed offsets.
 *
 * @example
 * const { lag, committed } = await committedOffsets(admin, 'kafka-rx-demo-1a2b', 'orders-1a2b', 12)
 */
export async function committedOffsets(admin: Admin, groupId: string, topic: string, partitions: number): Promise<{ lag: number; committed: number[] }> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  const committed = new Array<number>(partitions).fill(0)
  for (const { partition, offset } of offsets?.partitions ?? []) committed[partition] = Math.max(0, Number(offset))
  let lag = 0
  for (const { partition, high } of await admin.fetchTopicOffsets(topic)) lag += Math.max(0, Number(high) - committed[partition]!)
  return { lag, committed }
}
