import type { OwnedPartition } from '../tracker/partition-epochs'

/**
 * Which owned partitions have nothing left to deliver as far as the fetches tell: the condition for a batch to
 * linger in `eachBatch` (see the session's `#linger`) without holding back the other partitions' batches.
 * kafkajs hands the batches of one fetch response to `eachBatch` one after another, so a batch that lingers
 * while another partition's batch of the same response waits behind it delays that partition by the whole
 * linger (the fair-budget spec saw the other partitions' last results come after the slow record they were
 * meant to pass).
 *
 * A partition is caught up when its last batch in this assignment was delivered in full up to the high
 * watermark it was fetched with. One that got no batch yet is caught up only after a whole fetch round passed
 * since the assignment (a second `FETCH_START`: kafkajs fetches again only once every batch of the previous
 * response was handled, and it skips empty partitions without calling `eachBatch`). Without `FETCH_START`
 * events (other clients), such a partition never counts as caught up. What the fetches cannot tell: records
 * produced to a caught-up partition since its last batch (a batch of it may wait behind the linger, which is
 * bounded: it ends once the records in flight finished, or none finished for a while).
 *
 * ```text
 * assign [0,1,2]  FETCH_START  batch 0 (to HW)  batch 1 (to HW)  FETCH_START  batch 0 (to HW)
 * othersCaughtUp:              0: false (1, 2 unseen)  1: false (2 unseen)    0: true (1 caught up, 2 empty)
 * ```
 *
 * @example
 * const lanes = new CaughtUpLanes()
 * lanes.assign([lane0, lane1])
 * consumer.on(consumer.events.FETCH_START, () => lanes.fetchStarted())
 * lanes.batchEnded(lane0, delivered === messages.length && lastOffset + 1 >= highWatermark)
 * if (lanes.othersCaughtUp(lane0)) await linger()
 */
export class CaughtUpLanes {
  #owned: readonly OwnedPartition[] = []
  readonly #caughtUp = new WeakMap<OwnedPartition, boolean>()
  #fetchStarts = 0

  /** The owned partitions changed: none of them got a batch yet in this assignment. */
  assign(owned: readonly OwnedPartition[]): void {
    this.#owned = owned
    this.#fetchStarts = 0
  }

  /** kafkajs starts a fetch (`FETCH_START`): the batches of the previous one were all handled. */
  fetchStarted(): void {
    this.#fetchStarts++
  }

  /** A batch of `lane` returned from `eachBatch`: `caughtUp` when delivered in full up to its high watermark. */
  batchEnded(lane: OwnedPartition, caughtUp: boolean): void {
    this.#caughtUp.set(lane, caughtUp)
  }

  /** True when every owned partition but `lane` is caught up (see the class comment). */
  othersCaughtUp(lane: OwnedPartition): boolean {
    for (const other of this.#owned) {
      if (other === lane || other.revoked === true) continue
      const caughtUp = this.#caughtUp.get(other)
      if (caughtUp === false || (caughtUp === undefined && this.#fetchStarts < 2)) return false
    }
    return true
  }
}
