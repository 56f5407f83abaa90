/**
 * The in-flight budget (`maxInFlight`) shared fairly across the owned partitions, so that one partition
 * whose head is slow (its finished records wait behind it in `orderedMerge` and keep counting in flight)
 * can never take the places the others need to keep running.
 *
 * The rule: each owned partition has a **reserve** of `floor(maxInFlight / (2 × owned partitions))` places.
 * A partition below its reserve may always deliver (while the total is below `maxInFlight`); a partition at
 * or above it may only borrow places nobody has reserved: it delivers while
 * `inFlight + reserved by the others < maxInFlight`, where a partition's unused reserve is
 * `max(0, reserve - its in-flight count)`. So `inFlight + every unused reserve <= maxInFlight` always holds,
 * and any partition below its reserve always finds room, whatever the others hold. A partition alone can
 * still use `maxInFlight - (partitions - 1) × reserve` places (more than half of the budget).
 *
 * ```text
 * maxInFlight 150, 4 partitions: reserve 18
 * p0 slow head: delivers up to 150 - 3 × 18 = 96, then waits      p1..p3: 18 each always, more when unused
 * ```
 *
 * Records of a revoked epoch count in the total until they finish, not in any partition's share. O(1) per
 * record; O(partitions) per assignment and in `readyOther`, which only a held batch asks.
 *
 * @example
 * const budget = new FairBudget(150, 75)
 * budget.assign([{ topic: 't', partition: 0, epoch: 1 }, { topic: 't', partition: 1, epoch: 1 }])
 * if (budget.mayDeliver('t', 0, 1)) budget.delivered('t', 0, 1)
 * budget.finished('t', 0, 1)
 * budget.wakes('t', 0, 1) // true when a held batch may now go on (see `ready`)
 */
export class FairBudget {
  // Topic, then an array indexed by partition (as the tracker): no string built per record.
  readonly #shares = new Map<string, (Share | undefined)[]>()
  #owned = 0
  #reserve = 0
  // Sum over owned partitions of max(0, reserve - inFlight): the places kept for partitions below reserve.
  #unusedReserve = 0
  #inFlight = 0
  // The last topic looked up and its shares (records mostly come one topic at a time).
  #lastTopic: string | undefined
  #lastShares: (Share | undefined)[] | undefined

  /** @param resumeBelow A held batch of a partition at or above half its reserve resumes at this total. */
  constructor(
    readonly maxInFlight: number,
    readonly resumeBelow: number,
  ) {}

  /** Delivered and not finished, every partition and epoch. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** The places each owned partition always has: `floor(maxInFlight / (2 × owned partitions))`. */
  get reserve(): number {
    return this.#reserve
  }

  /** Replaces the owned partitions (kafkajs rebalances eagerly): each starts with none of its own in flight. */
  assign(partitions: readonly PartitionRef[]): void {
    this.#shares.clear()
    this.#lastTopic = undefined
    this.#owned = 0
    for (const { topic, partition, epoch } of partitions) this.#add(topic, partition, epoch)
    this.#rebalance()
  }

  /**
   * An incremental change: `revoked` partitions lose their share (their records in flight count in the total
   * only), `added` ones start with none in flight, and every other share is kept as it is (the shares a held
   * batch looked up stay valid). The reserve is recomputed for the new number of owned partitions.
   */
  change(revoked: readonly { topic: string; partition: number }[], added: readonly PartitionRef[]): void {
    for (const { topic, partition } of revoked) {
      const shares = this.#shares.get(topic)
      if (shares?.[partition] === undefined) continue
      shares[partition] = undefined
      this.#owned--
    }
    for (const { topic, partition, epoch } of added) this.#add(topic, partition, epoch)
    this.#lastTopic = undefined
    this.#rebalance()
  }

  /** Nothing is owned: records still in flight count in the total only. */
  revokeAll(): void {
    this.assign([])
  }

  /** The next record of (topic, partition, epoch) may be delivered now (a partition not known is adopted). */
  mayDeliver(topic: string, partition: number, epoch: number): boolean {
    return this.mayDeliverTo(this.shareOf(topic, partition, epoch))
  }

  /** A record of (topic, partition, epoch) was delivered. */
  delivered(topic: string, partition: number, epoch: number): void {
    this.deliveredTo(this.shareOf(topic, partition, epoch))
  }

  /**
   * The share of (topic, partition, epoch), for `mayDeliverTo` / `deliveredTo`: a source delivering a batch
   * looks it up once, not per record. Valid until the next `assign` or `revokeAll`.
   */
  shareOf(topic: string, partition: number, epoch: number): Share {
    return this.#share(topic, partition, epoch)
  }

  /** {@link mayDeliver} for a share from `shareOf`. */
  mayDeliverTo(share: Share): boolean {
    if (this.#inFlight >= this.maxInFlight || share === STALE) return false
    return share.inFlight < this.#reserve || this.#inFlight + this.#unusedReserve < this.maxInFlight
  }

  /** {@link delivered} for a share from `shareOf`. */
  deliveredTo(share: Share): void {
    this.#inFlight++
    if (share === STALE) return
    if (share.inFlight < this.#reserve) this.#unusedReserve--
    share.inFlight++
  }

  /** A delivered record of (topic, partition, epoch) finished. */
  finished(topic: string, partition: number, epoch: number): void {
    this.#inFlight--
    const share = this.#find(topic, partition)
    if (share === undefined || share.epoch !== epoch || share.inFlight === 0) return
    share.inFlight--
    share.finished++
    if (share.inFlight < this.#reserve) this.#unusedReserve++
  }

  /**
   * Asked after a finish of (topic, partition, epoch), while a batch is held: true when a held batch may now
   * go on (no partition turns `ready` on a finish without it): that partition is ready, the total just fell
   * below `maxInFlight`, or it is at or below `resumeBelow`.
   */
  wakes(topic: string, partition: number, epoch: number): boolean {
    return this.#inFlight === this.maxInFlight - 1 || this.#inFlight <= this.resumeBelow || this.ready(topic, partition, epoch)
  }

  /**
   * A held batch of (topic, partition, epoch) may go on: it may deliver, and (so that a held batch does not
   * wake per finished record) either its partition is below half its reserve or the total is down to
   * `resumeBelow`.
   */
  ready(topic: string, partition: number, epoch: number): boolean {
    // Never adopts: a held batch's partition was adopted by its first delivery.
    const share = this.#find(topic, partition)
    if (share === undefined || share.epoch !== epoch || !this.mayDeliverTo(share)) return false
    return share.inFlight < Math.ceil(this.#reserve / 2) || this.#inFlight <= this.resumeBelow
  }

  /** Another owned partition than (topic, partition) is `ready`: a batch held for this one would stall it. */
  readyOther(topic: string, partition: number): boolean {
    for (const [t, shares] of this.#shares) {
      for (let p = 0; p < shares.length; p++) {
        const share = shares[p]
        if (share !== undefined && (p !== partition || t !== topic) && this.ready(t, p, share.epoch)) return true
      }
    }
    return false
  }

  #find(topic: string, partition: number): Share | undefined {
    if (topic !== this.#lastTopic) {
      this.#lastTopic = topic
      this.#lastShares = this.#shares.get(topic)
    }
    return this.#lastShares?.[partition]
  }

  /** The partition's share; a partition not owned, or owned in a newer epoch, starts one (adopted). */
  #share(topic: string, partition: number, epoch: number): Share {
    const share = this.#find(topic, partition)
    if (share !== undefined && share.epoch === epoch) return share
    if (share !== undefined && share.epoch > epoch) return STALE // a record of an old epoch: no share
    const added = this.#add(topic, partition, epoch)
    this.#rebalance()
    return added
  }

  #add(topic: string, partition: number, epoch: number): Share {
    let shares = this.#shares.get(topic)
    if (shares === undefined) this.#shares.set(topic, (shares = []))
    this.#lastTopic = undefined // a topic added or the map cleared: look it up again
    if (shares[partition] === undefined) this.#owned++
    const share = { epoch, inFlight: 0, finished: 0 }
    shares[partition] = share
    return share
  }

  // The reserve depends on how many partitions are owned: recomputed (with the unused reserve) on a change.
  #rebalance(): void {
    this.#reserve = this.#owned === 0 ? 0 : Math.floor(this.maxInFlight / (2 * this.#owned))
    let unused = 0
    for (const shares of this.#shares.values()) {
      for (const share of shares) if (share !== undefined) unused += Math.max(0, this.#reserve - share.inFlight)
    }
    this.#unusedReserve = unused
  }
}

/** A partition in one assignment epoch. */
export interface PartitionRef {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
}

/** One partition's part of the budget in one epoch (see `shareOf`). */
export interface Share {
  readonly epoch: number
  inFlight: number
  /** Records of this share finished so far: whether the partition progresses (see yieldsBatch). */
  finished: number
}

// What a record of an epoch older than the owned one gets: never below any reserve, never counted.
const STALE: Share = Object.freeze({ epoch: -1, inFlight: Number.MAX_SAFE_INTEGER, finished: 0 }) as Share
