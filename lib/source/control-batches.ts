import type { EndBatchProcessPayloadLike } from '../client/consumer'
import type { DelegatedCommits } from './delegated-commits'
import type { OffsetTracker } from '../tracker/offset-tracker'
import type { PartitionEpochs } from '../tracker/partition-epochs'
import type { TrackedCommitOffset } from '../record/record'

/**
 * What to commit after kafkajs's END_BATCH_PROCESS for a batch of control records only (a transaction marker
 * fetched alone): kafkajs moved its fetch position past it without calling eachBatch, so the commit may move
 * past it too. Returns nothing for a batch with records (eachBatch saw it) or a partition not owned. It also
 * takes the batch's high watermark for the partition's stats (eachBatch, which records it otherwise, did not
 * run), so the lag of a partition whose last fetches were markers only is not left at an older figure.
 *
 * Committed by the caller at once: no record finishes because of such a batch, so `commitOffsets` would not
 * notice this progress (a quiet transactional partition would keep a lag of its last markers). Gap-safe: the
 * tracker only lets the commit pass the markers once every delivered record before them is finished.
 *
 * ```text
 * records 5 6 delivered, 6 unfinished; markers at 7-8 fetched alone  ->  advance to 9, commit 6 (not 9) until 6 finishes
 * nothing delivered yet this epoch; markers at 7-8                    ->  commit 9 (the fetch started at the commit)
 * ```
 *
 * @example
 * const offsets = offsetsPastControlBatch(payload, epochs, tracker)
 * if (offsets.length > 0) sink.commit(offsets).then((sent) => tracker.committed(sent), () => undefined)
 */
export function offsetsPastControlBatch(p: EndBatchProcessPayloadLike, epochs: PartitionEpochs, tracker: OffsetTracker): TrackedCommitOffset[] {
  if (p.batchSize !== 0) return []
  const epoch = epochs.epochOf(p.topic, p.partition)
  if (epoch === undefined) return []
  const next = nextOffset(p.lastOffset)
  const lane = epochs.lane(p.topic, p.partition)
  if (p.highWatermark !== undefined) lane.highWatermark = p.highWatermark
  if (lane.nextSeq > 0) tracker.advance(p.topic, p.partition, epoch, next)
  // Nothing delivered yet in this epoch: the fetch started at the committed offset and passed only control
  // records, so the epoch opens past them (and a refused commit of it goes again with the next one).
  else tracker.openAt(p.topic, p.partition, epoch, next)
  return tracker.committable().filter((o) => o.topic === p.topic && o.partition === p.partition)
}

/** The offset after `offset` (int64 in decimal, as kafkajs gives offsets). */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString()
}

/** Sends such a commit, best effort: a failure is left to the next commit. */
export function commitPastControlBatch(
  p: EndBatchProcessPayloadLike, epochs: PartitionEpochs, tracker: OffsetTracker, sink: Pick<DelegatedCommits, 'commit'>,
): void {
  const offsets = offsetsPastControlBatch(p, epochs, tracker)
  if (offsets.length > 0) sink.commit(offsets).then((sent) => tracker.committed(sent), () => undefined)
}
