import type { FetchGate } from './fetch-gate'

/**
 * Where a batch waits, inside kafkajs's eachBatch, while the in-flight budget is used up: until the gate is
 * resumed (or `stop()` says the batch is over), heartbeating every `heartbeatInterval` ms so that the member
 * stays in the group. Waiting there rather than returning resumes at once: kafkajs only looks at paused
 * partitions again after sleeping maxWaitTimeInMs.
 *
 * ```text
 * wait():  --hb--hb--hb-|      gate paused: a heartbeat per interval
 * wake():  ------^             budget back, an abort or a close: every waiter re-checks at once
 * ```
 *
 * @example
 * const budget = new BudgetWait(gate, 3_000)
 * gate.pause()
 * const failed = await budget.wait(heartbeat, () => closing)
 * if (failed !== undefined) throw failed.error // the group is rebalancing: kafkajs rejoins
 */
export class BudgetWait {
  #waiters: (() => void)[] = []

  constructor(
    private readonly gate: FetchGate,
    private readonly heartbeatInterval: number,
  ) {}

  /** Ends every current wait's sleep at once; each waiter then re-checks the gate and `stop`. */
  wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  /**
   * Waits while the gate is paused and `stop()` is false. Returns the heartbeat's error when one failed (the
   * group is rebalancing), else undefined.
   */
  async wait(heartbeat: () => Promise<void>, stop: () => boolean): Promise<{ error: unknown } | undefined> {
    while (this.gate.paused && !stop()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, this.heartbeatInterval)
        function wake(): void {
          clearTimeout(timer)
          resolve()
        }
        this.#waiters.push(wake)
      })
      try {
        await heartbeat()
      } catch (error) {
        return { error }
      }
    }
    return undefined
  }
}
