/**
 * The demo's own bookkeeping of what the pipeline did to each order, so that the summary checks itself
 * instead of trusting the library under test.
 */
import type { Order } from './demo-workload'

interface CustomerState {
  /** Largest orderId whose work started: a smaller one starting later broke the customer's order. */
  lastStarted: number
  /** Work of this customer running now: one starting while another runs overlaps it (also a violation). */
  running: number
}

/**
 * Counts, per order (by `orderId`, 0..records-1): how often its work started and completed, and whether
 * its charge reached the output topic. Checks per-customer order when work starts (production order is
 * ascending `orderId` within a customer) and partition order of the output when the broker acknowledges it.
 * O(1) per call; memory is a few bytes per order plus one small object per customer.
 *
 * It also keeps, per input partition, how far the forwarded records form an unbroken prefix of offsets, to
 * check a commit against: the input topic is fresh and written without transactions, so its offsets are
 * dense from 0.
 *
 * @example
 * const ledger = new DemoLedger(200_000, perPartition)
 * ledger.started(order); ledger.completed(order); ledger.acknowledged(3, '117', order)
 * ledger.lost // 199_999
 */
export class DemoLedger {
  readonly #records: number
  // One flag per order: started, completed, forwarded at least once.
  readonly #starts: Uint8Array
  readonly #completed: Uint8Array
  readonly #forwarded: Uint8Array
  readonly #customers = new Map<string, CustomerState>()
  readonly #lastForwardedOffset: number[] = []
  /** Per input partition: which offsets left the forward step, and the first one that did not yet. */
  readonly #forwardedOffsets: Uint8Array[]
  readonly #forwardedPrefix: number[]
  #distinctCompleted = 0
  #distinctForwarded = 0
  #duplicateRuns = 0
  #keyOrderViolations = 0
  #partitionOrderViolations = 0
  #foreign = 0
  #undecodable = 0
  #running = 0
  #maxRunning = 0
  // Records that passed each stage after the per-key one, for the in-flight breakdown (reordering, forwarding):
  // the per-key stage's own figures (running, queued, active keys) come from the library's stats.
  #settledCount = 0
  #sendingCount = 0
  #ackedCount = 0

  /**
   * @param records Orders produced (orderIds 0..records-1).
   * @param perPartition Records produced to each input partition (offsets 0..n-1).
   */
  constructor(records: number, perPartition: readonly number[]) {
    this.#records = records
    this.#forwardedOffsets = perPartition.map(n => new Uint8Array(n))
    this.#forwardedPrefix = perPartition.map(() => 0)
    this.#starts = new Uint8Array(records)
    this.#completed = new Uint8Array(records)
    this.#forwarded = new Uint8Array(records)
  }

  /** The per-key stage emitted the Processed envelope of a record. */
  settled(): void {
    this.#settledCount++
  }

  /** `n` records reached the forward step (their partition order restored). */
  sending(n: number): void {
    this.#sendingCount += n
  }


  /** Work on `order` starts: checks it against the customer's earlier orders. */
  started(order: Order): void {
    const c = this.#customer(order.customer)
    const id = order.orderId
    // A redelivered order (at-least-once) is a duplicate, not a new position in the customer's order.
    const again = this.#known(id) && this.#starts[id]! > 0
    if (!this.#known(id)) this.#foreign++
    else if (again) this.#duplicateRuns++
    if (c.running > 0 || (!again && id < c.lastStarted)) this.#keyOrderViolations++
    if (this.#known(id)) this.#starts[id] = 1
    if (id > c.lastStarted) c.lastStarted = id
    c.running++
    if (++this.#running > this.#maxRunning) this.#maxRunning = this.#running
  }

  /** Work on `order` completed. */
  completed(order: Order): void {
    this.#customer(order.customer).running--
    this.#running--
    const id = order.orderId
    if (this.#known(id) && this.#completed[id] === 0) {
      this.#completed[id] = 1
      this.#distinctCompleted++
    }
  }

  /**
   * A record left the forward step, in output order: its charge was acknowledged by the broker (`order`),
   * or it had nothing to send (`order` undefined: a drop). Either way it is finished.
   */
  acknowledged(partition: number, inputOffset: string, order: Order | undefined): void {
    this.#ackedCount++
    const offset = Number(inputOffset)
    const last = this.#lastForwardedOffset[partition]
    if (last !== undefined && offset <= last) this.#partitionOrderViolations++
    else this.#lastForwardedOffset[partition] = offset
    const marks = this.#forwardedOffsets[partition]
    if (marks !== undefined && offset < marks.length) {
      marks[offset] = 1
      let prefix = this.#forwardedPrefix[partition]!
      while (prefix < marks.length && marks[prefix] === 1) prefix++
      this.#forwardedPrefix[partition] = prefix
    }
    if (order === undefined) return
    const id = order.orderId
    if (this.#known(id) && this.#forwarded[id] === 0) {
      this.#forwarded[id] = 1
      this.#distinctForwarded++
    }
  }

  /**
   * Records below a committed offset that never left the forward step: what a commit skipped past
   * unfinished work (invariant 1). `committed[p]` is the committed offset (next to read) of input partition p.
   */
  committedUnforwarded(committed: readonly number[]): number {
    return committed.reduce((sum, c, p) => sum + Math.max(0, c - (this.#forwardedPrefix[p] ?? 0)), 0)
  }

  /** A record that did not decode as an order (never expected here). */
  undecodable(): void {
    this.#undecodable++
  }

  /** Orders whose work completed at least once. */
  get processed(): number {
    return this.#distinctCompleted
  }
  /** Orders whose charge reached the output topic at least once. */
  get forwardedCount(): number {
    return this.#distinctForwarded
  }
  /** Produced orders never processed and forwarded. */
  get lost(): number {
    return this.#records - this.#distinctForwarded
  }
  /** Work runs beyond the first of an order (a redelivery). */
  get duplicates(): number {
    return this.#duplicateRuns
  }
  /** Orders whose work started before an earlier order of the same customer, or while one was running. */
  get keyOrderViolations(): number {
    return this.#keyOrderViolations
  }
  /** Output acknowledged out of input offset order within a partition. */
  get partitionOrderViolations(): number {
    return this.#partitionOrderViolations
  }
  /** Records with an orderId outside the produced range, or that did not decode. */
  get unexpected(): number {
    return this.#foreign + this.#undecodable
  }
  /** The most work ever running at once. */
  get maxRunning(): number {
    return this.#maxRunning
  }
  /**
   * Where the records past the per-key stage are: waiting for an earlier record of their partition
   * (`orderedMerge`), or being forwarded.
   */
  get stages(): { reordering: number; forwarding: number } {
    return {
      reordering: this.#settledCount - this.#sendingCount,
      forwarding: this.#sendingCount - this.#ackedCount,
    }
  }

  #known(id: number): boolean {
    return Number.isSafeInteger(id) && id >= 0 && id < this.#records
  }

  #customer(name: string): CustomerState {
    let c = this.#customers.get(name)
    if (c === undefined) this.#customers.set(name, (c = { lastStarted: -1, running: 0 }))
    return c
  }
}
