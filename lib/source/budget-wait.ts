/**
 * Where a batch is held, inside kafkajs's eachBatch, while the source must not deliver it yet (the in-flight
 * budget is used up, or a drain or shutdown is under way): until `hold()` turns false, heartbeating every
 * `heartbeatInterval` ms so that the member stays in the group.
 *
 * Holding the batch is the source's only back-pressure on kafkajs: the fetcher that fetched it waits for
 * eachBatch, so nothing more is fetched from that broker, and the source never pauses a partition in the
 * client. Pausing there would cost a full `maxWaitTimeInMs` twice: kafkajs sleeps that long, unwakeable, when
 * every partition of a broker is paused (after a rebalance while the budget was full, fetching then resumed
 * only when the sleep ended), and its `stop()` waits for that sleep (a shutdown took ~5 s with the default
 * options). It would also resume partitions the user paused with `consumer.pause()`.
 *
 * ```text
 * wait():  --hb--hb--hb-|      hold() true: a heartbeat per interval
 * wake():  ------^             budget back, an abort, a close, a stop: every waiter re-checks hold() at once
 * ```
 *
 * @example
 * const budget = new BudgetWait(3_000)
 * const failed = await budget.wait(heartbeat, () => tracker.inFlight > resumeBelow)
 * if (failed !== undefined) throw failed.error // the group is rebalancing: kafkajs rejoins
 */
export class BudgetWait {
  #waiters: (() => void)[] = []

  constructor(private readonly heartbeatInterval: number) {}

  /** Ends every current wait's sleep at once; each waiter then re-checks its `hold`. */
  wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  /**
   * Waits while `hold()` is true. Returns the heartbeat's error when one failed (the group is rebalancing),
   * else undefined.
   */
  async wait(heartbeat: () => Promise<void>, hold: () => boolean): Promise<{ error: unknown } | undefined> {
    while (hold()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, this.heartbeatInterval)
        function wake(): void {
          clearTimeout(timer)
          resolve()
        }
        this.#waiters.push(wake)
      })
      if (!hold()) break // woken for good: no heartbeat round trip before delivering again
      try {
        await heartbeat()
      } catch (error) {
        return { error }
      }
    }
    return undefined
  }
}
