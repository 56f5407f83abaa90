import type { Entry, Lane } from './batch-parts'

/** Slots per chunk, two per entry: 64 KiB of pointers, so a chunk is an ordinary young object, not a large old one. */
const CHUNK = 8192

/**
 * The entries that must wait (their key is in a sealed or running batch), in arrival order, each beside its
 * lane, until a batch of one of those keys finishes: then {@link sortIntoLanes} moves them all into their
 * lanes' queues at once. Internal to `batchByKey`.
 *
 * Why not straight into the lane's queue: a key's queue lives as long as the key is busy, so under a flood
 * (a synchronous or fast source, every key busy) its array is promoted to V8's old generation long before it
 * fills, and every new record stored into it is an old-to-young pointer the scavenger must remember, visit
 * and update; in the operators bench that made batchByKey's GC time several times the naive batcher's, its
 * largest cost. Appending to the chunk being filled stores into a young array, as a plain buffer would; the
 * sort later fills the lanes' fresh (young) arrays in one pass. Each waiting entry moves once more, in linear
 * passes, O(1) amortised; the log holds two pointers per waiting entry and is dropped at each sort.
 *
 * ```text
 * arrivals:  a1 b1 a2 c1 b2        (a, b, c busy)
 * log:       [a1 A, b1 B, a2 A, c1 C, b2 B]
 * sorted:    A: a1 a2   B: b1 b2   C: c1      (when a batch holding a, b or c finishes)
 * ```
 */
export class ArrivalLog<T, I, R, K> {
  /** Filled chunks, oldest first; each is [entry, lane, entry, lane, ...], CHUNK slots. */
  #full: unknown[][] = []
  /** The chunk being filled, up to `#used` slots. */
  #tail: unknown[] = []
  #used = 0
  /** The distinct lanes with entries in the log, so the sort can size their arrays before filling them. */
  #lanes: Lane<T, I, R, K>[] = []

  /** Appends a waiting entry of `lane`, which counts it in `inLog` until the sort. */
  append(entry: Entry<T, I, R>, lane: Lane<T, I, R, K>): void {
    let tail = this.#tail
    if (this.#used === CHUNK) {
      this.#full.push(tail)
      // A full chunk means a flood: take the next one at its final size instead of growing it by copies. The
      // first chunk after a sort grows from empty, so a log that holds a few entries stays small.
      this.#tail = tail = new Array<unknown>(CHUNK)
      this.#used = 0
    }
    tail[this.#used++] = entry
    tail[this.#used++] = lane
    if (lane.inLog++ === 0) this.#lanes.push(lane)
  }

  /**
   * Moves every entry into its lane's queue, in arrival order (so behind what the lane already holds): a
   * counting sort, each lane's array grown once to its final size, then filled in one pass over the log.
   */
  sortIntoLanes(): void {
    const chunks = this.#full
    const tail = this.#tail
    const used = this.#used
    const lanes = this.#lanes
    this.clear()
    for (let i = 0; i < lanes.length; i++) lanes[i]!.reserve()
    for (let c = 0; c <= chunks.length; c++) {
      const chunk = c < chunks.length ? chunks[c]! : tail
      const end = c < chunks.length ? CHUNK : used
      for (let i = 0; i < end; i += 2) (chunk[i + 1] as Lane<T, I, R, K>).fill(chunk[i] as Entry<T, I, R>)
    }
  }

  clear(): void {
    this.#full = []
    this.#tail = []
    this.#used = 0
    this.#lanes = []
  }
}
