import type { KafkaConsumerLike } from '../client/consumer'

/**
 * Pauses and resumes fetching of every owned partition together, for the source's in-flight budget
 * (invariant 5): the budget is shared by all partitions, so when it is used up nothing is fetched.
 *
 * Pausing is remembered here, not only in the client: kafkajs keeps its paused set across a rejoin but only
 * for the partitions listed, and forgets it entirely when it restarts after a crash, so a newly assigned
 * partition would otherwise be fetched while the budget is spent. `reassigned()` pauses the new assignment
 * again, and `resume()` resumes every partition ever paused and not yet resumed. Client calls that throw
 * (kafkajs throws between a crash and its restart) are ignored: the intent is kept and applied at the next
 * assignment.
 *
 * ```text
 * pause()       client.pause(owned)           paused = true
 * reassigned()  client.pause(new assignment)  (only while paused)
 * resume()      client.resume(all paused)     paused = false
 * ```
 *
 * @example
 * const gate = new FetchGate(consumer, () => epochs.assigned())
 * if (tracker.inFlight >= maxInFlight) gate.pause()
 */
export class FetchGate {
  readonly #consumer: Pick<KafkaConsumerLike, 'pause' | 'resume'>
  readonly #owned: () => { topic: string; partitions: number[] }[]
  // Every partition we asked the client to pause and did not resume since.
  readonly #pausedInClient = new Map<string, Set<number>>()
  #paused = false

  constructor(consumer: Pick<KafkaConsumerLike, 'pause' | 'resume'>, owned: () => { topic: string; partitions: number[] }[]) {
    this.#consumer = consumer
    this.#owned = owned
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.#paused
  }

  /** Stops fetching every owned partition (a no-op when already paused). */
  pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.#pauseOwned()
  }

  /** The assignment changed: while paused, the new partitions are paused too. */
  reassigned(): void {
    if (this.#paused) this.#pauseOwned()
  }

  /** Fetches again every partition paused here (a no-op when not paused). */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    const all = [...this.#pausedInClient].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }))
    this.#pausedInClient.clear()
    if (all.length === 0) return
    try {
      this.#consumer.resume(all)
    } catch {
      // Not running (between a crash and its restart): a restarted kafkajs consumer starts unpaused anyway.
    }
  }

  #pauseOwned(): void {
    const owned = this.#owned().filter(({ partitions }) => partitions.length > 0)
    if (owned.length === 0) return
    try {
      this.#consumer.pause(owned)
    } catch {
      return // not running: reassigned() applies the pause to the next assignment
    }
    for (const { topic, partitions } of owned) {
      let set = this.#pausedInClient.get(topic)
      if (set === undefined) this.#pausedInClient.set(topic, (set = new Set()))
      for (const p of partitions) set.add(p)
    }
  }
}
