/**
 * `publish`'s options: what a user passes ({@link PublishOptions}) and what the operator runs with (checked,
 * defaults applied). Apart from the operator so that publish.ts holds its state machine.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { defaultDeadLetterEncoder, type DeadLetterEncoder } from './dead-letter'
import { checkMetrics, type PipelineMetrics } from './pipeline-metrics'
import type { KafkaProducerLike } from './producer-client'

/** Options of {@link publish}. */
export interface PublishOptions {
  /** Where forwarded messages go unless a message names its own `topic`. */
  topic: string
  /** Where failed records (and, by default, undecodable ones) go. Without it a record to dead-letter errors the stream. */
  deadLetterTopic?: string
  /** What to do with a `DecodeFailure` from the source. Default 'dead-letter'. */
  decodeFailures?: 'dead-letter' | 'fail'
  /** Ms a message may wait for more to join its batch. Default 5. */
  lingerMs?: number
  /** Most messages per `sendBatch`; a full batch goes at once. Default 500. */
  batchSize?: number
  /** Passed to `sendBatch`. Default -1 (all in-sync replicas): the input is finished only once outputs are durable. */
  acks?: number
  /** Tries per batch; once exhausted the stream errors with the last failure. Default 10. */
  maxAttempts?: number
  /** Ms to wait before retry `attempt` (1-based). Default `min(100 * 2^(attempt - 1), 10000)`. */
  backoff?: (attempt: number) => number
  /** Encodes the key or value of a dead letter whose record has no `rawKey`/`rawValue` (one not from `fromKafka`). Default: Buffers and strings as is, else JSON. */
  encodeDeadLetter?: DeadLetterEncoder
  /** Schedules linger and retries. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
  /** Counts acknowledged messages (`published`) and dead letters (`deadLetters`), for `pipelineStats`. Default: none. */
  metrics?: PipelineMetrics
}

/** {@link PublishOptions} with the defaults applied. */
export type PublishSettings = Required<Omit<PublishOptions, 'deadLetterTopic' | 'metrics'>> & Pick<PublishOptions, 'deadLetterTopic' | 'metrics'>

const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 10_000)

/**
 * `publish`'s options checked (a TypeError or RangeError naming the option, at call time) and with their
 * defaults applied.
 *
 * ```text
 * { topic: 'out' }               ->  { topic: 'out', decodeFailures: 'dead-letter', lingerMs: 5, batchSize: 500, acks: -1, maxAttempts: 10, ... }
 * { topic: 'out', batchSize: 0 } ->  RangeError: publish: batchSize must be an integer >= 1, got 0
 * ```
 *
 * @example
 * const { lingerMs, batchSize } = publishSettings(producer, { topic: 'orders-enriched' })
 */
export function publishSettings(producer: KafkaProducerLike, options: PublishOptions): PublishSettings {
  const {
    topic, deadLetterTopic, decodeFailures = 'dead-letter', lingerMs = 5, batchSize = 500, acks = -1,
    maxAttempts = 10, backoff = defaultBackoff, encodeDeadLetter = defaultDeadLetterEncoder, scheduler = asyncScheduler, metrics,
  } = options ?? ({} as PublishOptions)
  validate(producer, options, lingerMs, batchSize, maxAttempts)
  checkMetrics(metrics, 'publish')
  return { topic, deadLetterTopic, decodeFailures, lingerMs, batchSize, acks, maxAttempts, backoff, encodeDeadLetter, scheduler, metrics }
}

function validate(producer: KafkaProducerLike, options: PublishOptions, lingerMs: number, batchSize: number, maxAttempts: number): void {
  if (typeof producer?.sendBatch !== 'function') throw new TypeError('publish: producer must have a sendBatch function')
  if (typeof options?.topic !== 'string' || options.topic === '') throw new TypeError('publish: topic must be a non-empty string')
  if (options.deadLetterTopic !== undefined && (typeof options.deadLetterTopic !== 'string' || options.deadLetterTopic === '')) {
    throw new TypeError('publish: deadLetterTopic must be a non-empty string when given')
  }
  if (!(typeof lingerMs === 'number' && lingerMs >= 0 && lingerMs < Infinity)) throw new RangeError(`publish: lingerMs must be a finite number >= 0, got ${String(lingerMs)}`)
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new RangeError(`publish: batchSize must be an integer >= 1, got ${String(batchSize)}`)
  if (!(maxAttempts === Infinity || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
    throw new RangeError(`publish: maxAttempts must be an integer >= 1 or Infinity, got ${String(maxAttempts)}`)
  }
  if (options.decodeFailures !== undefined && options.decodeFailures !== 'dead-letter' && options.decodeFailures !== 'fail') {
    throw new TypeError(`publish: decodeFailures must be 'dead-letter' or 'fail', got ${String(options.decodeFailures)}`)
  }
}
