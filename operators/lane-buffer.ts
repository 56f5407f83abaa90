/** Marks an empty slot; items themselves may be `undefined` in custom streams. */
export const HOLE: unique symbol = Symbol('HOLE')

const MIN_CAPACITY = 16
/**
 * Widest gap allowed between `next` and a held seq (16M items in flight on one lane). Dense seqs never get
 * near it; a sparse `seqOf` (Kafka offsets, say) would, and is better reported than allocated.
 */
const MAX_SPAN = 2 ** 24

/**
 * One lane of `orderedMerge`: its epoch, the next seq it will emit, and the items that arrived before their
 * turn.
 *
 * Early items sit in a ring indexed by `seq & mask`. Every held seq lies in `(next, next + capacity)`, and
 * since seq is dense, the span from `next` to the highest held seq counts only items already delivered
 * upstream and not yet emitted here: the ring never outgrows what is in flight. Hold and take are O(1); the
 * ring doubles when a seq falls beyond it (amortised O(1)) and is dropped as soon as it empties, so an idle
 * lane costs only its counters, whatever the backlog it once had.
 *
 * @example
 * const lane = new LaneBuffer<string>('orders-0')
 * lane.hold(2, 'c'); lane.hold(1, 'b')   // arrived early: next is 0
 * lane.next = 1                          // 'a' (seq 0) was emitted directly
 * lane.takeNext()                        // 'b', next = 2
 * lane.takeNext()                        // 'c', next = 3, storage freed
 */
export class LaneBuffer<T> {
  /** Epoch whose seqs `next` counts; -Infinity until the lane's first item. */
  epoch = -Infinity
  /** The seq this lane emits next. */
  next = 0
  /** Items held. */
  size = 0
  private slots: Array<T | typeof HOLE> | undefined = undefined
  private mask = 0

  /** @param id the lane as `laneOf` gave it, kept to name the lane in errors. */
  constructor(readonly id: unknown) {}

  /**
   * Holds an item that came before its turn; the caller ensures `seq > next`. False when that seq is already
   * held. Throws a RangeError when `seq` is implausibly far ahead (see MAX_SPAN).
   */
  hold(seq: number, item: T): boolean {
    let slots = this.slots
    if (slots === undefined || seq - this.next > this.mask) slots = this.grow(seq - this.next + 1)
    const i = seq & this.mask
    if (slots[i] !== HOLE) return false
    slots[i] = item
    this.size++
    return true
  }

  /** Removes and returns the item whose turn it is, advancing `next`; HOLE when that item has not arrived. */
  takeNext(): T | typeof HOLE {
    const slots = this.slots
    if (slots === undefined) return HOLE
    const i = this.next & this.mask
    const item = slots[i]!
    if (item === HOLE) return HOLE
    slots[i] = HOLE
    this.next++
    if (--this.size === 0) this.slots = undefined
    return item
  }

  /** Starts the lane afresh at seq 0 of `epoch`; returns what the old epoch held, in seq order. */
  restart(epoch: number): T[] {
    const held: T[] = []
    const slots = this.slots
    for (let seq = this.next; held.length < this.size; seq++) {
      const item = slots![seq & this.mask]!
      if (item !== HOLE) held.push(item)
    }
    this.epoch = epoch
    this.next = 0
    this.size = 0
    this.slots = undefined
    return held
  }

  /** Items found in storage by scanning it: O(capacity), for tests and diagnostics. */
  stored(): number {
    let n = 0
    for (const slot of this.slots ?? []) if (slot !== HOLE) n++
    return n
  }

  /** Slots allocated (0 once the lane is empty). */
  get capacity(): number {
    return this.slots === undefined ? 0 : this.slots.length
  }

  private grow(span: number): Array<T | typeof HOLE> {
    if (span > MAX_SPAN) {
      throw new RangeError(`orderedMerge: seq ${this.next + span - 1} of lane ${String(this.id)} is ${span - 1} ahead of the next expected seq ${this.next}: seqs must be dense (0, 1, 2, ...)`)
    }
    let capacity = MIN_CAPACITY
    while (capacity < span) capacity *= 2
    const old = this.slots
    const slots = new Array<T | typeof HOLE>(capacity).fill(HOLE)
    const mask = capacity - 1
    if (old !== undefined) {
      // Held seqs lie in [next, next + old.length): re-index each at its place in the larger ring.
      for (let seq = this.next, end = seq + old.length; seq < end; seq++) slots[seq & mask] = old[seq & this.mask]!
    }
    this.slots = slots
    this.mask = mask
    return slots
  }
}
