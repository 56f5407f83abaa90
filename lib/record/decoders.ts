import type { KafkaRecord, RecordOrigin } from './record'

/** Where the bytes being decoded come from, for decoders that depend on the topic or on headers. */
export interface DecodeContext {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly headers: KafkaRecord['headers']
}

/**
 * Turns a key's or a value's bytes (null for a null key or a tombstone) into `T`, synchronously. Throwing
 * marks the record as a {@link DecodeFailure}: it is still delivered and still counted by the commit.
 * (Work that must await, such as a schema-registry lookup, belongs in the pipeline, not in a decoder.)
 *
 * @example
 * const decodeOrder: Decoder<Order | null> = (bytes) => (bytes === null ? null : Order.parse(bytes))
 */
export type Decoder<T> = (data: Buffer | null, context: DecodeContext) => T

/**
 * The default decoder: the bytes as kafkajs gave them (a `Buffer`, or null).
 *
 * @example
 * fromKafka(consumer, { topics: ['t'], valueDecoder: bufferDecoder })
 */
export const bufferDecoder: Decoder<Buffer | null> = (data) => data

// fatal: true, so that bytes that are not UTF-8 are a decode failure rather than silent U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Strict UTF-8 text; null stays null. Bytes that are not valid UTF-8 make a {@link DecodeFailure}.
 *
 * @example
 * fromKafka<string | null, string | null>(consumer, { topics: ['t'], keyDecoder: stringDecoder, valueDecoder: stringDecoder })
 */
export const stringDecoder: Decoder<string | null> = (data) => (data === null ? null : utf8.decode(data))

/**
 * UTF-8 JSON, parsed with `JSON.parse`; null (a tombstone) stays null. The parsed value is not validated:
 * pass `validate` to check its shape (throw to make the record a {@link DecodeFailure}).
 *
 * @example
 * const valueDecoder = jsonDecoder<Order>((v) => { if (typeof v?.id !== 'string') throw new TypeError('no id'); return v as Order })
 */
export function jsonDecoder<T = unknown>(validate?: (parsed: unknown) => T): Decoder<T | null> {
  return (data) => {
    if (data === null) return null
    const parsed: unknown = JSON.parse(utf8.decode(data))
    return validate === undefined ? (parsed as T) : validate(parsed)
  }
}

/** Which part of the record failed to decode, and why. */
export interface DecodeError {
  readonly part: 'key' | 'value'
  /** What the decoder threw. */
  readonly cause: unknown
}

/**
 * A record whose key or value the decoder rejected. It is delivered like any record (the offset tracker
 * counts it, so the commit knows about it), in its place in the partition, so the application decides: drop
 * it, send it to a dead-letter topic, or stop. `key` is the decoded key when only the value failed, else the
 * raw key bytes; `value` is null; `rawKey`/`rawValue` keep the bytes as fetched.
 */
export interface DecodeFailure extends RecordOrigin {
  readonly key: unknown
  readonly value: null
  readonly rawKey: Buffer | null
  readonly rawValue: Buffer | null
  readonly headers: KafkaRecord['headers']
  readonly timestamp: string
  readonly decodeError: DecodeError
}

/**
 * Tells a {@link DecodeFailure} from a decoded record.
 *
 * @example
 * records$.pipe(
 *   groupByKeyConcat(recordKey, (r) => (isDecodeFailure(r) ? deadLetter(r) : handle(r)), { concurrency: 64 }),
 * )
 */
export function isDecodeFailure(record: object): record is DecodeFailure {
  return (record as Partial<DecodeFailure>).decodeError !== undefined
}
