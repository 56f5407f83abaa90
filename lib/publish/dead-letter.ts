import { isDecodeFailure } from '../record/decoders'
import type { ProducerMessageLike } from '../client/producer'
import type { KafkaRecord, RecordOrigin } from '../record/record'

/** Headers a dead letter carries, beside the original record's own headers. */
export const DEAD_LETTER_HEADERS = {
  topic: 'kafka-rx-dlt-source-topic',
  partition: 'kafka-rx-dlt-source-partition',
  offset: 'kafka-rx-dlt-source-offset',
  error: 'kafka-rx-dlt-error',
  attempts: 'kafka-rx-dlt-attempts',
  /** 'decode' (the key or value did not decode) or 'processing' (the work gave up). */
  reason: 'kafka-rx-dlt-reason',
} as const

/** A record that can be sent to a dead-letter topic: its origin, key, value and headers. */
export interface DeadLetterSource extends RecordOrigin {
  readonly key: unknown
  readonly value: unknown
  readonly headers?: KafkaRecord['headers']
  /** The bytes as fetched (`fromKafka` sets them): sent as they are when present. */
  readonly rawKey?: Buffer | null
  readonly rawValue?: Buffer | null
}

/** Why a record goes to the dead-letter topic. */
export interface DeadLetterCause {
  readonly error: unknown
  /** Tries made (0 for a record that could not be decoded, so was never tried). */
  readonly attempts: number
}

/** Turns a decoded key or value back into bytes for the dead letter. */
export type DeadLetterEncoder = (data: unknown, part: 'key' | 'value') => Buffer | string | null

/** Kafka's default cap on a header is generous, but an error with a huge message should not bloat each letter. */
const MAX_ERROR_CHARS = 4_096

/**
 * Buffers, strings and null as they are; anything else (a decoded JSON value) as JSON text.
 *
 * @example
 * defaultDeadLetterEncoder({ id: 1 }, 'value') // '{"id":1}'
 */
export const defaultDeadLetterEncoder: DeadLetterEncoder = (data) => {
  if (data === null || data === undefined) return null
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data
  return JSON.stringify(data) ?? null
}

/**
 * The dead letter of a record: its original key and value (`rawKey`/`rawValue`, the bytes as fetched, which
 * `fromKafka` keeps on every record; only a record without them is re-encoded by `encode`), its own headers, and headers naming the source topic, partition,
 * offset, the error and the attempts. It has no partition: the producer picks it from the key, so letters of
 * one key stay in order.
 *
 * @example
 * const letter = deadLetterOf(record, { error, attempts: 3 })
 * await producer.sendBatch({ topicMessages: [{ topic: 'orders-dlt', messages: [letter] }], acks: -1 })
 */
export function deadLetterOf(
  record: DeadLetterSource, cause: DeadLetterCause, encode: DeadLetterEncoder = defaultDeadLetterEncoder,
): ProducerMessageLike {
  const decodeFailed = isDecodeFailure(record)
  // The original bytes whenever the source kept them; re-encoding is for records built by other means.
  const key = record.rawKey !== undefined ? record.rawKey : encode(record.key, 'key')
  const value = record.rawValue !== undefined ? record.rawValue : encode(record.value, 'value')
  return {
    key,
    value,
    headers: {
      ...record.headers,
      [DEAD_LETTER_HEADERS.topic]: record.topic,
      [DEAD_LETTER_HEADERS.partition]: String(record.partition),
      [DEAD_LETTER_HEADERS.offset]: record.offset,
      [DEAD_LETTER_HEADERS.error]: describeError(cause.error),
      [DEAD_LETTER_HEADERS.attempts]: String(cause.attempts),
      [DEAD_LETTER_HEADERS.reason]: decodeFailed ? 'decode' : 'processing',
    },
  }
}

/**
 * `Name: message` of an Error (else its string form), at most 4096 characters.
 *
 * @example
 * describeError(new TypeError('bad')) // 'TypeError: bad'
 */
export function describeError(error: unknown): string {
  let text: string
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  } catch {
    text = '(error not printable)'
  }
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text
}
