import type { RecordOrigin } from '../../operators/record-origin'

export type { RecordOrigin, CommitOffset, TrackedCommitOffset } from '../../operators/record-origin'

/** A Kafka record as kafka-rx delivers it: the origin plus the message itself. */
export interface KafkaRecord<K = Buffer | null, V = Buffer | null> extends RecordOrigin {
  readonly key: K
  readonly value: V
  readonly headers: Readonly<Record<string, Buffer | string | undefined | (Buffer | string)[]>>
  /** Milliseconds since the epoch, as a string (kafkajs's representation). */
  readonly timestamp: string
  /**
   * The key and value bytes as fetched, before decoding (set by `fromKafka`; the same Buffers as `key` and
   * `value` when no decoder is set). A dead letter carries these, not a re-encoding of the decoded data. Held
   * as long as the record is, so in-flight memory counts them.
   */
  readonly rawKey?: Buffer | null
  readonly rawValue?: Buffer | null
}
