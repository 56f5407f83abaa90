// The plain data every stage carries: where a record came from, and the commits made of it. Declared here,
// on the operators' side, so the pure RxJS layer needs nothing from lib/; lib/record's KafkaRecord extends it.

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
