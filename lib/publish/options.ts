/**
 * `publish`'s options: what each one means and its default, and the call-time check that turns them into
 * the settings a subscription runs with. Apart from `publish.ts` so that the operator's file holds the
 * contract, and this one the knobs.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { defaultDeadLetterEncoder, type DeadLetterEncoder } from './dead-letter'
import { checkMetrics, type PipelineMetrics } from '../../operators/pipeline-metrics'
import type { KafkaProducerLike } from '../client/producer'
import { rejectRenamed } from '../../operators/renamed-options'

/** Options of {@link publish}. */
export interface PublishOptions {
  /** Where forwarded messages go unless a message names its own `topic`. */
  topic: string
  /** Where failed records (and, by default, undecodable ones) go. Without it a record to dead-letter errors the stream. */
  deadLetterTopic?: string
  /** What to do with a `DecodeFailure` from the source. Default 'dead-letter'. */
  decodeFailures?: 'dead-letter' | 'fail'
  /** Ms a message may wait for more to join its batch (`lingerMs` before 0.2). Default 5. */
  linger?: number
  /** Most messages per `sendBatch`; a full batch goes at once (`batchSize` before 0.2). Default 500. */
  maxBatchSize?: number
  /** Passed to `sendBatch`. Default -1 (all in-sync replicas): the input is finished only once outputs are durable. */
  acks?: number
  /** Tries per batch; once exhausted the stream errors with a `PublishSendError` (the last failure its cause). A failure
   *  the producer marks `retriable: false` (kafkajs's own retries ran out, or it never retries it) is not tried again. Default 10. */
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

/** {@link PublishOptions} checked, with every default applied: what one subscription of `publish` runs with. */
export interface PublishSettings {
  readonly topic: string
  readonly deadLetterTopic: string | undefined
  readonly decodeFailures: 'dead-letter' | 'fail'
  readonly lingerMs: number
  readonly batchSize: number
  readonly acks: number
  readonly maxAttempts: number
  readonly backoff: (attempt: number) => number
  readonly encodeDeadLetter: DeadLetterEncoder
  readonly scheduler: SchedulerLike
  readonly metrics: PipelineMetrics | undefined
}

const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 10_000)

/**
 * Checks `publish`'s producer and options at call time and applies the defaults.
 *
 * ```text
 * { topic: 'out' }  ->  { topic: 'out', lingerMs: 5, batchSize: 500, acks: -1, maxAttempts: 10, ... }
 * { topic: '' }     ->  TypeError
 * ```
 *
 * @example
 * const settings = publishSettings(producer, { topic: 'out', linger: 0 })
 * settings.batchSize // 500
 *
 * @throws {TypeError|RangeError} For an invalid producer or option.
 */
export function publishSettings(producer: KafkaProducerLike, options: PublishOptions): PublishSettings {
  rejectRenamed('publish', options, { lingerMs: 'linger', batchSize: 'maxBatchSize' })
  const {
    topic, deadLetterTopic, decodeFailures = 'dead-letter', linger: lingerMs = 5, maxBatchSize: batchSize = 500, acks = -1,
    maxAttempts = 10, backoff = defaultBackoff, encodeDeadLetter = defaultDeadLetterEncoder, scheduler = asyncScheduler, metrics,
  } = options
  validate(producer, options, lingerMs, batchSize, maxAttempts)
  checkMetrics(metrics, 'publish')
  return {
    topic, deadLetterTopic, decodeFailures, lingerMs, batchSize, acks, maxAttempts, backoff, encodeDeadLetter, scheduler, metrics,
  }
}

function validate(producer: KafkaProducerLike, options: PublishOptions, lingerMs: number, batchSize: number, maxAttempts: number): void {
  if (typeof producer?.sendBatch !== 'function') throw new TypeError('publish: producer must have a sendBatch function')
  if (typeof options?.topic !== 'string' || options.topic === '') throw new TypeError('publish: topic must be a non-empty string')
  if (options.deadLetterTopic !== undefined && (typeof options.deadLetterTopic !== 'string' || options.deadLetterTopic === '')) {
    throw new TypeError('publish: deadLetterTopic must be a non-empty string when given')
  }
  if (!(typeof lingerMs === 'number' && lingerMs >= 0 && lingerMs < Infinity)) throw new RangeError(`publish: linger must be a finite number >= 0, got ${String(lingerMs)}`)
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new RangeError(`publish: maxBatchSize must be an integer >= 1, got ${String(batchSize)}`)
  if (!(maxAttempts === Infinity || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
    throw new RangeError(`publish: maxAttempts must be an integer >= 1 or Infinity, got ${String(maxAttempts)}`)
  }
  if (options.decodeFailures !== undefined && options.decodeFailures !== 'dead-letter' && options.decodeFailures !== 'fail') {
    throw new TypeError(`publish: decodeFailures must be 'dead-letter' or 'fail', got ${String(options.decodeFailures)}`)
  }
}
