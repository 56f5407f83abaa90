import type { InMemoryConsumer } from './in-memory-consumer'
import type { LogEntry } from './log-entry'
import { partitionId } from './log-entry'
import type { RunEvent } from './run-events'

const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * One consumer group of an {@link InMemoryKafka}: its members, its generation and its committed offsets
 * (which outlive every member, so a restarted member goes on from them).
 *
 * A rebalance is eager, as kafkajs's: every member gets REBALANCING (and may still commit under the old
 * generation), the batches being handled return, then the generation grows and each member gets its new
 * assignment (GROUP_JOIN) and fetches again from the committed offsets. Commits carrying an older
 * generation are refused with `ILLEGAL_GENERATION`, as Kafka does.
 *
 * ```text
 * rebalance([1, 0]):  REBALANCING m0 m1 ─ held batches return ─ generation+1 ─ GROUP_JOIN m0:{t:[1]} m1:{t:[0]}
 * ```
 */
export class InMemoryGroup {
  /** Next offset to read per topic-partition, as the broker stores it. */
  readonly committed = new Map<string, number>()
  #generation = 0
  #members: InMemoryConsumer[] = []
  #tail: Promise<void> = Promise.resolve()
  #failures = 0
  #delays = 0
  #delayed: (() => void)[] = []

  constructor(
    readonly groupId: string,
    private readonly logs: ReadonlyMap<string, readonly (readonly LogEntry[])[]>,
    private readonly events: RunEvent[],
  ) {}

  get generation(): number {
    return this.#generation
  }

  /** Running members, in join order. */
  get members(): readonly InMemoryConsumer[] {
    return this.#members
  }

  /** The next `count` commits fail with a retriable error (`COORDINATOR_NOT_AVAILABLE`). */
  failNextCommits(count: number): void {
    this.#failures += count
  }

  /** The next `count` commits reach the broker only at `deliverCommits()` (a slow broker: in flight across a step). */
  delayNextCommits(count: number): void {
    this.#delays += count
  }

  /** Lets every delayed commit reach the broker; with `andStop`, no later commit is delayed either. */
  deliverCommits(andStop = false): void {
    if (andStop) {
      this.#delays = 0
      this.#failures = 0
    }
    for (const deliver of this.#delayed.splice(0)) deliver()
  }

  /** Resolves when a commit sent now reaches the broker: at once (a round trip), or when delivered. */
  arrival(): Promise<void> {
    if (this.#delays === 0) return Promise.resolve()
    this.#delays--
    return new Promise<void>((resolve) => this.#delayed.push(resolve))
  }

  /** Takes one injected failure, if any is left. */
  takeFailure(): boolean {
    if (this.#failures === 0) return false
    this.#failures--
    return true
  }

  /** A member started running: the group rebalances to include it. */
  join(member: InMemoryConsumer): Promise<void> {
    this.#members.push(member)
    return this.rebalance()
  }

  /** A member stopped or died: the group rebalances without it. */
  leave(member: InMemoryConsumer): Promise<void> {
    if (!this.#members.includes(member)) return this.#tail
    this.#members = this.#members.filter((m) => m !== member)
    return this.rebalance()
  }

  /**
   * Rebalances: partition `i` (in topic, then partition order) goes to member `owners[i] % members`
   * (default: round robin). Queued behind any rebalance under way; resolves once every member joined.
   */
  rebalance(owners?: readonly number[]): Promise<void> {
    this.#tail = this.#tail.then(() => this.#rebalance(owners))
    return this.#tail
  }

  async #rebalance(owners: readonly number[] | undefined): Promise<void> {
    const members = this.#members.slice()
    for (const m of members) m.revoke()
    await settle() // commits sent on REBALANCING reach the broker under the old generation
    await Promise.all(members.map((m) => m.idle()))
    this.#generation++
    const live = this.#members.filter((m) => members.includes(m))
    const assignments = live.map(() => ({}) as Record<string, number[]>)
    let i = 0
    for (const [topic, partitions] of [...this.logs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (let p = 0; p < partitions.length; p++, i++) {
        if (live.length === 0) continue
        const owner = live[(owners?.[i] ?? i) % live.length]!
        if (!owner.subscribes(topic)) continue
        ;(assignments[live.indexOf(owner)]![topic] ??= []).push(p)
      }
    }
    live.forEach((m, n) => m.assign(this.#generation, assignments[n]!))
  }

  /** Records a broker event. */
  record(event: RunEvent): void {
    this.events.push(event)
  }

  /** The committed offset of a partition, or undefined. */
  committedOf(topic: string, partition: number): number | undefined {
    return this.committed.get(partitionId(topic, partition))
  }
}
