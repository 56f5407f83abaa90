/**
 * When a batch that may not deliver now (its partition used its fair share, see `FairBudget`) goes back to
 * kafkajs undelivered rather than wait inside eachBatch.
 *
 * Waiting holds the fetcher, and with it every other partition of that broker: when another partition is
 * ready and this one is **stuck** (nothing of it finished since its batch last went back: a slow head, its
 * finished records waiting behind it in `orderedMerge`), the batch returns instead (its rest is fetched again
 * later, from the first record not delivered). Fetching again costs a whole fetch response (decoded by
 * kafkajs), so a partition that progresses keeps its batch and goes on by itself: under plain saturation
 * nothing is fetched twice. A stuck partition's batch returns at once when a record was delivered since its
 * last but one return (fetching is productive; not the last one: the partition may come last in one fetch
 * response and first in the next), else only after waiting one `interval`, which bounds the wait of a
 * partition that progresses too, but slowly: a stuck partition whose batch comes back each fetch while the
 * others have nothing new is not fetched again in a busy loop, but about once per interval.
 *
 * ```text
 * p0 over its share and stuck, p1 ready, delivered since:       return now      (p1's batch comes next)
 * p0 over its share and stuck, p1 ready, nothing delivered since: wait, return after one interval
 * p0 over its share, progressing, p1 ready:                       wait (until ready), at most one interval
 * p0 over its share, no other partition ready:                       wait (as for the whole budget)
 * ```
 *
 * @example
 * const back = yieldsBatch({ readyOther: budget.readyOther(topic, partition), deliveredSince: delivered > lastReturn, stuck, waitedMs, interval: 500 })
 */
export function yieldsBatch(state: BatchYieldState): boolean {
  return state.readyOther && ((state.stuck && state.deliveredSince) || state.waitedMs >= state.interval)
}

/** What {@link yieldsBatch} decides on. */
export interface BatchYieldState {
  /** Another owned partition is ready to deliver (`FairBudget.readyOther`). */
  readonly readyOther: boolean
  /** A record (of any partition) was delivered since this partition's batch returned undelivered the last but one time. */
  readonly deliveredSince: boolean
  /**
   * No record of this partition finished since its batch last went back (or in this epoch): its head is slow.
   * A partition that progresses soon goes on by itself; handing its batch back would only fetch it again.
   */
  readonly stuck: boolean
  /** How long this batch has waited so far, in ms. */
  readonly waitedMs: number
  /** The longest a batch waits while another partition is ready (`budgetHeartbeatInterval`). */
  readonly interval: number
}
