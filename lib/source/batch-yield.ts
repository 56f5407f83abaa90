/**
 * When a batch that may not deliver now (its partition used its fair share, see `FairBudget`) goes back to
 * kafkajs undelivered rather than wait inside eachBatch.
 *
 * Waiting holds the fetcher, and with it every other partition of that broker: right when another partition
 * is ready, the batch returns instead (its rest is fetched again later, from the first record not delivered).
 * It returns at once when a record was delivered since this partition's last but one return (fetching is
 * productive; not the last one: the partition may come last in one fetch response and first in the next),
 * else only after waiting one `interval`: a stuck partition whose batch comes back each fetch while the
 * others have nothing new is not fetched again in a busy loop, but about once per interval.
 *
 * ```text
 * p0 over its share, p1 ready, p1 delivered since p0's last return:  return now      (p1's batch comes next)
 * p0 over its share, p1 ready, nothing delivered since:              wait, return after one interval
 * p0 over its share, no other partition ready:                       wait (as for the whole budget)
 * ```
 *
 * @example
 * const back = yieldsBatch({ readyOther: budget.readyOther(topic, partition), deliveredSince: delivered > lastReturn, waitedMs, interval: 500 })
 */
export function yieldsBatch(state: BatchYieldState): boolean {
  return state.readyOther && (state.deliveredSince || state.waitedMs >= state.interval)
}

/** What {@link yieldsBatch} decides on. */
export interface BatchYieldState {
  /** Another owned partition is ready to deliver (`FairBudget.readyOther`). */
  readonly readyOther: boolean
  /** A record (of any partition) was delivered since this partition's batch returned undelivered the last but one time. */
  readonly deliveredSince: boolean
  /** How long this batch has waited so far, in ms. */
  readonly waitedMs: number
  /** The longest a batch waits while another partition is ready (`budgetHeartbeatInterval`). */
  readonly interval: number
}
