/**
 * Where a record came from. Every stage of a pipeline carries it along (as plain data) so that any stage can
 * acknowledge the record, and so that marble tests can build records by hand.
 */
export interface RecordOrigin {
  readonly topic: string
  readonly partition: number
  /** The Kafka offset as kafkajs gives it: a non-negative int64 in decimal. */
  readonly offset: string
  /**
   * Position in delivery order within (topic, partition, epoch): 0, 1, 2, ... with no gaps whatever the
   * offsets are. Offsets are not dense (compaction, transaction markers), so ordering uses `seq`, never
   * `offset + 1`.
   */
  readonly seq: number
  /**
   * Assignment epoch of the partition in this consumer: it grows each time the partition is assigned again
   * (every kafkajs rebalance). Work of an older epoch is never committed.
   */
  readonly epoch: number
}

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

/** One partition's commit: `offset` is the next offset to read, as Kafka's commit API expects. */
export interface CommitOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

/** A commit of the tracker's making: also names the assignment epoch it was computed in. */
export interface TrackedCommitOffset extends CommitOffset {
  readonly epoch: number
}
