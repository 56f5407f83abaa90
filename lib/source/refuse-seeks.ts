import type { KafkaConsumerLike } from '../client/consumer'

/**
 * Makes `consumer.seek` throw a clear error while a `fromKafka` subscription runs, and returns what puts the
 * consumer's own `seek` back (called on close). A seek would move kafkajs's fetch position behind the
 * tracker's back: offsets of an epoch must grow, and the commit would follow the old position.
 *
 * ```text
 * subscribe ──refuseSeeks──> consumer.seek(...) throws ──restore()──> consumer.seek as before
 * ```
 *
 * @example
 * const restore = refuseSeeks(consumer)
 * // ... the session runs; a user's consumer.seek({ topic, partition, offset }) throws ...
 * restore()
 */
export function refuseSeeks(consumer: KafkaConsumerLike): () => void {
  const seek = consumer.seek
  if (typeof seek !== 'function') return () => undefined
  consumer.seek = (target) => {
    throw new Error(
      `fromKafka: consumer.seek(${target.topic}[${target.partition}] to ${target.offset}) is not supported while the ` +
        'source runs: it drives the fetch position itself. Reset the group offsets (admin.setOffsets) before subscribing instead.',
    )
  }
  return () => {
    consumer.seek = seek
  }
}
