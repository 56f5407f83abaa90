import type { DecodeContext, DecodeFailure, Decoder } from '../record/decoders'
import type { KafkaMessageLike } from '../client/consumer'
import type { OwnedPartition } from '../tracker/partition-epochs'
import type { KafkaRecord } from '../record/record'

/** A record as the source emits it (`SourceRecord` in from-kafka.ts), e.g. `KafkaRecord<string, Order>`. */
export type SessionRecord<K, V> = KafkaRecord<K, V> | DecodeFailure

/**
 * Makes the record of one fetched message: its origin (the lane's topic, partition and epoch, and the next
 * `seq` of the lane, taken here), key and value through the decoders, and the bytes as fetched. A decoder that
 * throws makes a {@link DecodeFailure} in the record's place instead: the commit must still see it.
 *
 * ```text
 * message { offset '7', key <b'k'>, value <b'{"a":1}'> }  --jsonDecoder-->  { offset '7', seq 3, key, value: { a: 1 }, rawKey, rawValue, ... }
 * message { offset '8', value <b'{bad'> }                 --jsonDecoder-->  DecodeFailure { decodeError: { part: 'value', cause } }
 * ```
 *
 * @example
 * const record = decodeRecord<Buffer | null, Order>(lane, message, undefined, jsonDecoder<Order>())
 */
export function decodeRecord<K, V>(
  lane: OwnedPartition,
  message: KafkaMessageLike,
  keyDecoder: Decoder<K> | undefined,
  valueDecoder: Decoder<V> | undefined,
): SessionRecord<K, V> {
  const { topic, partition, epoch } = lane
  const seq = lane.nextSeq++
  const { offset, timestamp } = message
  const headers = message.headers ?? {}
  let key: K
  let value: V
  if (keyDecoder === undefined) key = message.key as K
  else {
    try {
      key = keyDecoder(message.key, { topic, partition, offset, headers } satisfies DecodeContext)
    } catch (cause) {
      return decodeFailure(lane, seq, message, headers, message.key, 'key', cause)
    }
  }
  if (valueDecoder === undefined) value = message.value as V
  else {
    try {
      value = valueDecoder(message.value, { topic, partition, offset, headers })
    } catch (cause) {
      return decodeFailure(lane, seq, message, headers, key, 'value', cause)
    }
  }
  return { topic, partition, offset, seq, epoch, key, value, headers, timestamp, rawKey: message.key, rawValue: message.value }
}

/**
 * The record of one fetched message when there are no decoders: {@link decodeRecord}'s common case, small
 * enough for V8 to inline into the source's delivery loop (decodeRecord's decoder paths are not).
 *
 * ```text
 * message { offset '7', key <b'k'>, value <b'v'> }  -->  { offset '7', seq 3, key <b'k'>, value <b'v'>, rawKey <b'k'>, rawValue <b'v'>, ... }
 * ```
 *
 * @example
 * const record = undecodedRecord<Buffer | null, Buffer | null>(lane, message)
 */
export function undecodedRecord<K, V>(lane: OwnedPartition, message: KafkaMessageLike): KafkaRecord<K, V> {
  const { topic, partition, epoch } = lane
  const { offset, timestamp, key, value } = message
  return {
    topic,
    partition,
    offset,
    seq: lane.nextSeq++,
    epoch,
    key: key as K,
    value: value as V,
    headers: message.headers ?? {},
    timestamp,
    rawKey: key,
    rawValue: value,
  }
}

function decodeFailure(
  lane: OwnedPartition,
  seq: number,
  message: KafkaMessageLike,
  headers: KafkaRecord['headers'],
  key: unknown,
  part: 'key' | 'value',
  cause: unknown,
): DecodeFailure {
  const { topic, partition, epoch } = lane
  return {
    topic,
    partition,
    offset: message.offset,
    seq,
    epoch,
    key,
    value: null,
    headers,
    timestamp: message.timestamp,
    rawKey: message.key,
    rawValue: message.value,
    decodeError: { part, cause },
  }
}
