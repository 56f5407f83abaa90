import { Observable } from 'rxjs'
import type { PartitionEvent } from '../../operators/interjections'

/** A partition this member owns now: the epoch it was assigned in and the `seq` of its next record. */
export interface OwnedPartition {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  nextSeq: number
  /** The broker's high watermark as of the last batch fetched in this epoch (for stats); undefined before. */
  highWatermark?: string
  /** Set once this epoch of the partition is over (revoked, or replaced by a new assignment). */
  revoked?: boolean
}

/** Partitions of one topic, as assignment changes list them. */
export interface TopicPartitionList {
  readonly topic: string
  readonly partitions: readonly number[]
}

/**
 * Which partitions this member owns in the current group generation, under which epoch, and the next
 * delivery `seq` of each: the source's view of ownership (invariant 6). Eager clients (kafkajs) replace the
 * whole assignment (`assign`, `revokeAll`); incremental ones (KIP-848) move single partitions (`change`).
 *
 * Epochs come from one counter that grows at every assignment, so a partition's epoch grows each time it is
 * assigned again, and a record's `epoch` tells whether it was delivered under the current ownership. kafkajs
 * rebalances eagerly: every rejoin revokes everything and resets fetch positions to the committed offsets,
 * so `assign` replaces the whole assignment and restarts every partition's `seq` at 0.
 *
 * ```text
 * assign({ t: [0, 1] })   t[0] epoch 1, t[1] epoch 1
 * revokeAll()             nothing owned: records of epoch 1 are stale, their offsets never committed
 * assign({ t: [1] })      t[1] epoch 2
 * ```
 *
 * @example
 * const epochs = new PartitionEpochs()
 * epochs.assign({ orders: [0, 1] })
 * const lane = epochs.lane('orders', 0)   // { epoch: 1, nextSeq: 0 }
 * epochs.revokeAll()
 * epochs.epochOf('orders', 0)             // undefined
 * epochs.events.subscribe(console.log)    // { type: 'assigned', ... } per partition owned now, then changes
 */
export class PartitionEpochs {
  #epochs = 0
  #generation = 0
  readonly #owned = new Map<string, Map<number, OwnedPartition>>()
  // The partition #find found last; dropped whenever #owned is cleared.
  #lastFound: OwnedPartition | undefined
  readonly #listeners = new Set<(event: PartitionEvent) => void>()

  /**
   * Ownership changes as they happen (hot): `revoked` for each partition `assign` or `revokeAll` takes away,
   * `assigned` for each one `assign` (or `lane`, adopting) gives. A subscriber first gets an `assigned` for
   * every partition owned at that moment, so it need not subscribe before the first assignment. Emitted after
   * the state changed, so a listener reading `epochOf` sees the new ownership. Never completes.
   */
  readonly events: Observable<PartitionEvent> = new Observable<PartitionEvent>((subscriber) => {
    for (const p of this.ownedLanes()) subscriber.next(event('assigned', p))
    const listener = (e: PartitionEvent): void => subscriber.next(e)
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  })

  /**
   * Grows at every ownership change (`assign` or `revokeAll`): a commit computed under one generation is void
   * in the next.
   */
  get generation(): number {
    return this.#generation
  }

  /** Replaces the assignment: every listed partition gets a new epoch and `seq` 0; the rest are revoked. */
  assign(assignment: Readonly<Record<string, readonly number[]>>): void {
    const revoked = this.ownedLanes()
    for (const lane of revoked) lane.revoked = true
    this.#owned.clear()
    this.#lastFound = undefined
    this.#generation++
    const epoch = ++this.#epochs
    for (const topic of Object.keys(assignment)) {
      const partitions = new Map<number, OwnedPartition>()
      for (const partition of assignment[topic] ?? []) partitions.set(partition, { topic, partition, epoch, nextSeq: 0 })
      this.#owned.set(topic, partitions)
    }
    this.#emit('revoked', revoked)
    this.#emit('assigned', this.ownedLanes())
  }

  /**
   * An incremental assignment change (KIP-848, cooperative): only `revoked` lose ownership and only `assigned`
   * gain it, under one new epoch; every other owned partition keeps its epoch, its `seq` and its lane object,
   * and `generation` does not move (a commit computed for a partition that stays owned remains valid). A
   * partition listed as assigned that is owned already keeps its epoch (the change is idempotent).
   *
   * ```text
   * assign({ t: [0, 1] })                       t[0] e1, t[1] e1
   * change([{ t, [1] }], [{ t, [2] }])          t[0] e1 (untouched), t[1] revoked, t[2] e2
   * ```
   *
   * @returns the lanes revoked and the lanes added.
   */
  change(revoked: readonly TopicPartitionList[], assigned: readonly TopicPartitionList[]): { revoked: OwnedPartition[]; assigned: OwnedPartition[] } {
    const gone: OwnedPartition[] = []
    for (const { topic, partitions } of revoked) {
      const owned = this.#owned.get(topic)
      for (const partition of partitions) {
        const lane = owned?.get(partition)
        if (lane === undefined) continue
        lane.revoked = true
        owned!.delete(partition)
        gone.push(lane)
      }
    }
    this.#lastFound = undefined
    const added: OwnedPartition[] = []
    let epoch: number | undefined
    for (const { topic, partitions } of assigned) {
      let owned = this.#owned.get(topic)
      if (owned === undefined) this.#owned.set(topic, (owned = new Map()))
      for (const partition of partitions) {
        if (owned.has(partition)) continue
        epoch ??= ++this.#epochs
        const lane: OwnedPartition = { topic, partition, epoch, nextSeq: 0 }
        owned.set(partition, lane)
        added.push(lane)
      }
    }
    this.#emit('revoked', gone)
    this.#emit('assigned', added)
    return { revoked: gone, assigned: added }
  }

  /** Nothing is owned any more (a rebalance started, or the consumer stopped). */
  revokeAll(): void {
    const revoked = this.ownedLanes()
    for (const lane of revoked) lane.revoked = true
    this.#generation++
    this.#owned.clear()
    this.#lastFound = undefined
    this.#emit('revoked', revoked)
  }

  /** True when at least one partition is owned. */
  get owning(): boolean {
    for (const partitions of this.#owned.values()) if (partitions.size > 0) return true
    return false
  }

  /** The current epoch of an owned partition, else undefined. */
  epochOf(topic: string, partition: number): number | undefined {
    return this.#find(topic, partition)?.epoch
  }

  /** The high watermark last fetched for an owned partition, else undefined (see `OwnedPartition`). */
  highWatermarkOf(topic: string, partition: number): string | undefined {
    return this.#find(topic, partition)?.highWatermark
  }

  /**
   * The owned partition a batch belongs to. A partition fetched without a known assignment (a client that
   * emits no `GROUP_JOIN` for it) is adopted into a fresh epoch, so its records still get a valid origin.
   */
  lane(topic: string, partition: number): OwnedPartition {
    const found = this.#find(topic, partition)
    if (found !== undefined) return found
    let partitions = this.#owned.get(topic)
    if (partitions === undefined) this.#owned.set(topic, (partitions = new Map()))
    const lane: OwnedPartition = { topic, partition, epoch: ++this.#epochs, nextSeq: 0 }
    partitions.set(partition, lane)
    this.#emit('assigned', [lane])
    return lane
  }

  /** The owned partitions, grouped by topic, as `pause`/`resume` take them. */
  assigned(): { topic: string; partitions: number[] }[] {
    const out: { topic: string; partitions: number[] }[] = []
    for (const [topic, partitions] of this.#owned) {
      if (partitions.size > 0) out.push({ topic, partitions: [...partitions.keys()] })
    }
    return out
  }

  /** An owned partition; the last one found is checked first (records come a partition at a time). */
  #find(topic: string, partition: number): OwnedPartition | undefined {
    const last = this.#lastFound
    if (last !== undefined && last.partition === partition && last.topic === topic) return last
    const found = this.#owned.get(topic)?.get(partition)
    if (found !== undefined) this.#lastFound = found
    return found
  }

  /** The owned partitions' lanes (their current epochs), topic by topic. */
  ownedLanes(): OwnedPartition[] {
    const out: OwnedPartition[] = []
    for (const partitions of this.#owned.values()) out.push(...partitions.values())
    return out
  }

  #emit(type: PartitionEvent['type'], partitions: readonly OwnedPartition[]): void {
    if (this.#listeners.size === 0) return
    for (const p of partitions) for (const listener of [...this.#listeners]) listener(event(type, p))
  }
}

function event(type: PartitionEvent['type'], { topic, partition, epoch }: OwnedPartition): PartitionEvent {
  return { type, topic, partition, epoch }
}
