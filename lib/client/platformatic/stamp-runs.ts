/**
 * The stamps (see `PartitionQueues.stamp`) of the messages pushed into the stream and not read out yet, in
 * push order. The stream is a FIFO read by the adapter alone, so the n-th message read is the n-th pushed:
 * a queue of stamps beside it tells each message's stamp without a per-message map entry (a `WeakMap` keyed
 * by message cost about as much as the rest of the adapter, mostly in the garbage collector). A stamp
 * changes only when an ownership does, so they are kept as runs of one stamp and a count, and a push or a
 * read allocates nothing.
 *
 * ```text
 * push a(-1) b(-1) c(4) d(4) e(4)     runs [-1 x2] [4 x3]
 * shift() shift() shift()             -1 -1 4, runs [4 x2]
 * ```
 *
 * @example
 * const stamps = new StampRuns()
 * stamps.push(queues.stamp(message))   // as the stream pushes message
 * queues.accept(stream.read(), stamps.shift())
 */
export class StampRuns {
  // Run i: stamps #values[i], #counts[i] messages; the runs before #head are read.
  readonly #values: number[] = []
  readonly #counts: number[] = []
  #head = 0

  /** One message pushed with `stamp`. */
  push(stamp: number): void {
    const last = this.#values.length - 1
    if (last >= this.#head && this.#values[last] === stamp) {
      this.#counts[last]!++
      return
    }
    this.#values.push(stamp)
    this.#counts.push(1)
  }

  /** `count` messages pushed with `stamp` at once (those in the stream before it was watched). */
  pushMany(stamp: number, count: number): void {
    for (let i = 0; i < count; i++) this.push(stamp)
  }

  /** The stamp of the next message read: the oldest one pushed; -1 (no ownership) when none is left. */
  shift(): number {
    const head = this.#head
    if (head >= this.#values.length) return -1
    const stamp = this.#values[head]!
    if (--this.#counts[head]! === 0) {
      this.#head = head + 1
      // Compacted once every run is read: only a few are ever live (one per ownership change in flight).
      if (this.#head === this.#values.length) {
        this.#values.length = 0
        this.#counts.length = 0
        this.#head = 0
      }
    }
    return stamp
  }
}
