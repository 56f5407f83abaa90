import { KafkaRxError, retriableCause } from '../../operators/kafka-rx-error'
import { describeError } from './dead-letter'

/**
 * `publish` gave up on a `sendBatch`: names the stage, the topic(s) of the batch and the tries, and keeps the
 * producer's error as `cause`. Nothing of the batch (nor after it) was emitted, so none of it is committed.
 *
 * Retriable as the producer's error says (the deepest `retriable` flag of its chain, see
 * {@link retriableCause}): a broker that was down or a leader that moved is (kafkajs gave up, a later run may
 * not), a message too large or a topic not authorized is not; retriable when the producer sets no flag.
 */
export class PublishSendError extends KafkaRxError {
  override readonly name = 'PublishSendError'
  /** The topics the failed batch was writing to, in the order first met. */
  readonly topics: readonly string[]
  /** `sendBatch` calls made for the batch (each one runs the producer's own retries). */
  readonly attempts: number

  constructor(topics: readonly string[], attempts: number, cause: unknown) {
    const final = isFinalSendError(cause) ? ' (the producer had given up: no retry of publish\'s own)' : ''
    super(
      `publish: sending to topic(s) ${topics.join(', ')} failed after ${attempts} attempt(s)${final}: ` +
      `${describeError(cause)}; the batch's records are not committed`,
      { stage: 'publish', retriable: retriableCause(cause, true), cause },
    )
    this.topics = topics
    this.attempts = attempts
  }
}

/**
 * Whether the producer says retrying is pointless: kafkajs marks `retriable: false` both the errors it will
 * not retry and the one it throws once its own retries ran out (`KafkaJSNumberOfRetriesExceeded`). `publish`
 * retries only the others, so its tries never multiply kafkajs's: the total is bounded by the producer's
 * `retry` settings (kafkajs default: 5 retries, about 30 s), or by `maxAttempts` x `backoff` for a producer
 * that does not retry by itself.
 *
 * @example
 * isFinalSendError(new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 3000 })) // true
 */
export function isFinalSendError(error: unknown): boolean {
  return error !== null && typeof error === 'object' && (error as { retriable?: unknown }).retriable === false
}
