import type { KafkaConsumerLike, TopicPartitionOffsetLike } from '../client/consumer'
import { KafkaRxError } from '../../operators/kafka-rx-error'

/**
 * `consumer.seek` was called while a `fromKafka` subscription ran on the consumer: the source drives the
 * fetch position itself (offsets of an assignment must grow for its commits to be right). `target` is the
 * seek refused; the position did not move.
 *
 * Not retriable: the seek is refused whenever the source runs. Move a group's position while nothing
 * consumes (admin `setOffsets`, or `fromBeginning` for a new group), then subscribe.
 *
 * @example
 * ```ts
 * try { consumer.seek({ topic: 'orders', partition: 0, offset: '5' }) } catch (e) { if (e instanceof SeekRefusedError) resetLater(e.target) }
 * ```
 */
export class SeekRefusedError extends KafkaRxError {
  override readonly name = 'SeekRefusedError'

  constructor(readonly target: TopicPartitionOffsetLike) {
    super(
      `fromKafka: consumer.seek(${target.topic}[${target.partition}] to ${target.offset}) is not supported while the ` +
        'source runs: it drives the fetch position itself. Reset the group offsets (admin.setOffsets) before subscribing instead.',
      { stage: 'fromKafka', retriable: false },
    )
  }
}

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
    throw new SeekRefusedError(target)
  }
  return () => {
    consumer.seek = seek
  }
}
