/**
 * `publishTransactional`'s options, their defaults and the call-time check. The slices of kafkajs's
 * transactional producer and admin it calls are in lib/client/transactions.ts.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { defaultDeadLetterEncoder, type DeadLetterEncoder } from '../publish/dead-letter'
import type { PublishSettings } from '../publish/options'
import type { OffsetsAdminLike, TransactionalProducerLike } from '../client/transactions'

/** Options of {@link publishTransactional}. */
export interface PublishTransactionalOptions {
  /** The consumer group of the source: the input offsets are committed for it, inside each transaction. */
  consumerGroupId: string
  /**
   * Makes the producer of one input partition. It must be a kafkajs producer with this `transactionalId`,
   * `idempotent: true` and `maxInFlightRequests: 1`, not yet connected: the operator connects and
   * disconnects it.
   */
  producer: (transactionalId: string) => TransactionalProducerLike
  /** A connected kafkajs `Admin` (yours: never disconnected here), to read committed offsets after fencing. */
  admin: OffsetsAdminLike
  /** Where forwarded messages go unless a message names its own `topic`. */
  topic: string
  /** Where failed and undecodable records go, in the same transaction as the commit that passes them. */
  deadLetterTopic?: string
  /** What to do with a `DecodeFailure` from the source. Default 'dead-letter'. */
  decodeFailures?: 'dead-letter' | 'fail'
  /** Prefix of the transactionalIds, `<prefix>-<topic>-<partition>`. Default `consumerGroupId`. Unique per service. */
  transactionalIdPrefix?: string
  /** Ms a record may wait for more of its partition to join its transaction. Default 100. */
  interval?: number
  /** Most input records per transaction; a partition with this many waiting starts one at once. Default 1000. */
  maxBatchSize?: number
  /** Tries per transaction (each after a fresh producer); then the stream errors. Default 10. */
  maxAttempts?: number
  /** Ms to wait before retry `attempt` (1-based). Default `min(100 * 2^(attempt - 1), 10000)`. */
  backoff?: (attempt: number) => number
  /** Encodes a dead letter's key or value when the record has no raw bytes. Default as in `publish`. */
  encodeDeadLetter?: DeadLetterEncoder
  /** Schedules the interval and the retries. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
}

/** The options checked, with every default applied. */
export interface TransactionalSettings {
  readonly consumerGroupId: string
  readonly producer: (transactionalId: string) => TransactionalProducerLike
  readonly admin: OffsetsAdminLike
  readonly transactionalIdPrefix: string
  readonly interval: number
  readonly maxBatchSize: number
  readonly maxAttempts: number
  readonly backoff: (attempt: number) => number
  readonly scheduler: SchedulerLike
  /** What `publish`'s output builder reads (topic, dead letters, decode failures). */
  readonly outputs: PublishSettings
}

const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 10_000)

/**
 * Checks the options at call time and applies the defaults.
 *
 * ```text
 * { consumerGroupId: 'g', topic: 'out', producer, admin }  ->  { interval: 100, maxBatchSize: 1000, maxAttempts: 10, ... }
 * { consumerGroupId: '' ... }                                 ->  TypeError
 * ```
 *
 * @example
 * const settings = transactionalSettings({ consumerGroupId: 'g', topic: 'out', producer: make, admin })
 *
 * @throws {TypeError|RangeError} For a missing or invalid option, naming it and what it got.
 */
export function transactionalSettings(options: PublishTransactionalOptions): TransactionalSettings {
  const o = options ?? ({} as PublishTransactionalOptions)
  const fail = (what: string, got: unknown, Kind: typeof TypeError = TypeError): never => {
    throw new Kind(`publishTransactional: ${what}, got ${typeof got === 'function' ? 'a function' : String(got)}`)
  }
  if (typeof o.consumerGroupId !== 'string' || o.consumerGroupId === '') fail('consumerGroupId must be a non-empty string', o.consumerGroupId)
  if (typeof o.producer !== 'function') fail('producer must be a function (transactionalId) => kafkajs Producer', o.producer)
  if (typeof o.admin?.fetchOffsets !== 'function') fail('admin must have fetchOffsets (a connected kafkajs Admin)', o.admin)
  if (typeof o.topic !== 'string' || o.topic === '') fail('topic must be a non-empty string', o.topic)
  if (o.deadLetterTopic !== undefined && (typeof o.deadLetterTopic !== 'string' || o.deadLetterTopic === '')) fail('deadLetterTopic must be a non-empty string when given', o.deadLetterTopic)
  const { interval = 100, maxBatchSize = 1000, maxAttempts = 10, backoff = defaultBackoff, scheduler = asyncScheduler } = o
  const prefix = o.transactionalIdPrefix ?? o.consumerGroupId
  if (typeof prefix !== 'string' || prefix === '') fail('transactionalIdPrefix must be a non-empty string', prefix)
  if (!(typeof interval === 'number' && interval >= 0 && interval < Infinity)) fail('interval must be a finite number >= 0', interval, RangeError)
  if (!(Number.isSafeInteger(maxBatchSize) && maxBatchSize >= 1)) fail('maxBatchSize must be an integer >= 1', maxBatchSize, RangeError)
  if (!(maxAttempts === Infinity || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) fail('maxAttempts must be an integer >= 1 or Infinity', maxAttempts, RangeError)
  if (typeof backoff !== 'function') fail('backoff must be a function', backoff)
  const decodeFailures = o.decodeFailures ?? 'dead-letter'
  if (decodeFailures !== 'dead-letter' && decodeFailures !== 'fail') fail("decodeFailures must be 'dead-letter' or 'fail'", decodeFailures)
  const outputs: PublishSettings = {
    topic: o.topic, deadLetterTopic: o.deadLetterTopic, decodeFailures, lingerMs: 0, batchSize: maxBatchSize, acks: -1, maxAttempts,
    backoff, encodeDeadLetter: o.encodeDeadLetter ?? defaultDeadLetterEncoder, scheduler, metrics: undefined,
  }
  return {
    consumerGroupId: o.consumerGroupId, producer: o.producer, admin: o.admin, transactionalIdPrefix: prefix,
    interval, maxBatchSize, maxAttempts, backoff, scheduler, outputs,
  }
}
