/**
 * What an in-memory partition holds: records and transaction markers at explicit offsets, so that a test
 * can leave the gaps compaction and transactions leave in a real log.
 */

/** One entry of a partition log. */
export interface LogEntry {
  /** Kafka offset; offsets grow along the log but need not be dense (a gap is a compacted-away record). */
  readonly offset: number
  readonly key: string | null
  /** The value's bytes as a string (`null`: a tombstone). Any string, so undecodable values can be written. */
  readonly value: string | null
  /** A transaction marker: it takes an offset but is never delivered (a batch's lastOffset may end on it). */
  readonly control?: boolean
  /** Virtual-time frames the record's work takes in a `runPipeline` world (`work(record)`). Default 1. */
  readonly latency?: number
  /** How many first attempts of the record's work fail in a `runPipeline` world. Default 0. */
  readonly failures?: number
}

/** The next offset to read after `entries` (log end): one past the last entry, markers included. */
export function logEnd(entries: readonly LogEntry[]): number {
  return entries.length === 0 ? 0 : entries[entries.length - 1]!.offset + 1
}

/** A topic-partition's map key. */
export function partitionId(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
