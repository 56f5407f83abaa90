import { asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs'
import { Drain } from './drain'
import type { KafkaCommitSink } from './commit-sink'
import type { OffsetTracker } from '../tracker/offset-tracker'
import type { PartitionEpochs } from '../tracker/partition-epochs'
import type { TrackedCommitOffset } from '../record/record'

/** How one rebalance drain ended: whether every owned record finished in time, and what the broker took. */
export interface RebalanceDrainResult {
  readonly drained: boolean
  readonly committed: readonly TrackedCommitOffset[]
}

/**
 * True for the heartbeat errors on which kafkajs's runner rejoins the group (its `isRebalancing`): the moment
 * to drain. Checked on the error and its causes, as kafkajs may wrap it.
 *
 * @example
 * isRebalanceError({ type: 'REBALANCE_IN_PROGRESS' }) // true
 */
export function isRebalanceError(error: unknown): boolean {
  for (let e: any = error, depth = 0; e != null && depth < 8; e = e.cause ?? e.originalError, depth++) {
    if (e.type === 'REBALANCE_IN_PROGRESS' || e.type === 'NOT_COORDINATOR_FOR_GROUP' || e.type === 'ILLEGAL_GENERATION') return true
  }
  return false
}

/**
 * Drain before rejoin: the group is rebalancing and this member still holds its partitions (kafkajs cannot
 * rejoin while a batch is inside `eachBatch`). Nothing more is delivered (the session checks `active`); the
 * records in flight on owned partitions may finish for up to `budget` ms; then what finished is committed
 * under the old generation, which the broker accepts while the group is preparing the rebalance, and the
 * caller rethrows the heartbeat's error so that kafkajs rejoins. Records still running at the deadline are
 * left to the revoke that follows, as without a drain.
 *
 * The commit is taken at the very tick the drain ends (the end runs from the scheduler, see {@link Drain}):
 * a record finishing after the deadline is not in it, and it never passes an unfinished record
 * (`tracker.committable()`).
 *
 * ```text
 * owned in flight: 3--2--1---0            budget 20
 * run():           -S                     S = a heartbeat failed with REBALANCE_IN_PROGRESS
 * commit:          ----------C            at the first tick after 0; at S + 20 if 0 never came
 * ```
 *
 * @example
 * const drain = new RebalanceDrain(30_000, tracker, epochs, sink)
 * const failed = await budget.wait(heartbeat, hold)
 * if (failed !== undefined && isRebalanceError(failed.error)) await drain.run(heartbeat, 500)
 * throw failed.error
 */
export class RebalanceDrain {
  #running: Promise<RebalanceDrainResult> | undefined
  #drain: Drain | undefined
  #end: ((drained: boolean, commit?: boolean) => void) | undefined

  constructor(
    private readonly budget: number,
    private readonly tracker: OffsetTracker,
    private readonly epochs: PartitionEpochs,
    private readonly sink: Pick<KafkaCommitSink, 'commit'>,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  /** True from `run()` until the next generation (`reset()`): nothing is to be delivered meanwhile. */
  get active(): boolean {
    return this.#running !== undefined
  }

  /** Records delivered on owned partitions (current epochs) and not finished: what the drain waits for. */
  ownedInFlight(): number {
    if (this.tracker.inFlight === 0) return 0
    let n = 0
    for (const p of this.tracker.partitions()) if (this.epochs.epochOf(p.topic, p.partition) === p.epoch) n += p.inFlight
    return n
  }

  /**
   * Starts the drain (once per generation: later calls share it) and resolves when it is over and its
   * commit settled. Heartbeats every `interval` ms meanwhile: each fails while the group rebalances, yet it
   * tells the coordinator the member is alive.
   */
  run(heartbeat: () => Promise<void>, interval: number): Promise<RebalanceDrainResult> {
    if (this.#running !== undefined) return this.#running
    // On the scheduler, not a loop of setTimeouts: the end cancels the next one (none is left pending), and in
    // virtual time they run in virtual time. One at a time: a slow heartbeat is not stacked.
    let beating = false
    const beats = this.scheduler.schedule(function (this: SchedulerAction<unknown>) {
      if (!beating) {
        beating = true
        heartbeat().catch(() => undefined).finally(() => (beating = false))
      }
      this.schedule(undefined, interval)
    }, interval)
    this.#running = new Promise<RebalanceDrainResult>((resolve) => {
      const end = (drained: boolean, commit = true): void => {
        this.#end = undefined
        beats.unsubscribe()
        if (!commit) return resolve({ drained, committed: [] })
        // Taken and sent synchronously at the drain's end (the Drain calls this from the scheduler): a record
        // finishing after the deadline is not in it, also in virtual time.
        const owned = this.tracker.committable().filter((o) => this.epochs.epochOf(o.topic, o.partition) === o.epoch)
        this.sink.commit(owned).then(
          (committed) => {
            this.tracker.committed(committed)
            resolve({ drained, committed })
          },
          // Best effort, as a commit on REBALANCING: the next owner re-reads from the last acknowledged commit.
          () => resolve({ drained, committed: [] }),
        )
      }
      this.#end = end
      this.#drain = new Drain(() => this.ownedInFlight(), this.budget, end, this.scheduler)
      this.#drain.start()
    })
    return this.#running
  }

  /** A record finished: the drain ends at the next tick once nothing owned is in flight. */
  released(): void {
    if (this.#drain !== undefined && this.#running !== undefined) this.#drain.released(this.ownedInFlight())
  }

  /** The member left the old generation (rejoined, stopped): the next rebalance gets its own drain. */
  reset(): void {
    this.#drain?.cancel()
    this.#end?.(false, false) // a drain still waiting ends now, without a commit (the caller commits or may not)
    this.#end = undefined
    this.#drain = undefined
    this.#running = undefined
  }
}
