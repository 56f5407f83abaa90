import type { RecordOrigin, TrackedCommitOffset } from './record-origin'

/**
 * What `trackDelivery` and `commitOffsets` need of an offset tracker: declared on the operators' side so that
 * they depend on no Kafka code. lib/tracker's `OffsetTracker` implements it (and is what a Kafka source
 * carries); a test may pass any object with these four methods.
 *
 * ```text
 * deliver(r) ... finish(r) ... committable() ──commit──▶ committed(offsets)
 * ```
 */
export interface CommitTracker {
  /** Records `origin` as delivered and not finished. */
  deliver(origin: RecordOrigin): void
  /** Marks a delivered record finished; false when it does not count (a revoked epoch, say). */
  finish(origin: RecordOrigin): boolean
  /** Per partition, the offset just past the longest finished prefix, where it moved since the last commit. */
  committable(): TrackedCommitOffset[]
  /** Acknowledges that `offsets` were committed. */
  committed(offsets: readonly TrackedCommitOffset[]): void
}
