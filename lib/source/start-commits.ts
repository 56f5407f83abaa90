import type { KafkaCommitSink } from './commit-sink'
import type { DelegatedCommits } from './delegated-commits'
import type { OwnedPartition } from '../tracker/partition-epochs'
import type { TrackedCommitOffset } from '../record/record'

/**
 * Makes the position each assignment of a partition starts reading from durable (committed) before its
 * first record is delivered, so that no reset policy can skip a record this member was handed.
 *
 * Why: a partition where nothing finished has nothing to commit, and when the group had no committed offset
 * for it the next owner (after a drain timeout, an unsubscribe, an error, a rebalance or a crash) applies the
 * reset policy: with kafkajs's default (`fromBeginning: false`, i.e. `latest`) it starts at the log end and
 * never sees the stuck record nor anything produced meanwhile. Committing the first fetched offset closes
 * that window whatever the shutdown path, SIGKILL included, because it happens before the record exists for
 * the pipeline. kafkajs does not say whether the group had a commit (it fetched from it, or reset), so the
 * commit is skipped only when this process itself last committed exactly that offset for the partition (the
 * common rejoin: the fetch restarts at our own commit). Cost: at most one commit per partition per
 * assignment, awaited by that partition's first batch only.
 *
 * ```text
 * GROUP_JOIN t[0] epoch 3, no commit   fetch 40..49   commit t[0]@40   deliver 40..49
 * GROUP_JOIN t[0] epoch 4              fetch 50..59   (we committed 50 ourselves: nothing sent)
 * ```
 *
 * @example
 * const starts = new StartCommits(sink)
 * if (!starts.durable(lane)) start = await starts.commit(lane, messages[0].offset)
 * if (start === undefined) return // ownership lost meanwhile: deliver nothing
 */
export class StartCommits {
  readonly #sink: KafkaCommitSink
  readonly #delegate: DelegatedCommits | undefined
  // Lanes (one per partition and epoch) whose start is durable: a WeakSet so a revoked lane needs no cleanup.
  readonly #durable = new WeakSet<OwnedPartition>()
  // Starts asked for before the first of them is sent (a microtask later), sent as one commit (see #sendTogether).
  readonly #pending: { start: TrackedCommitOffset; settle: (sent: boolean) => void; fail: (error: unknown) => void }[] = []

  constructor(sink: KafkaCommitSink, delegate?: DelegatedCommits) {
    this.#sink = sink
    this.#delegate = delegate
  }

  /** True once `lane`'s start position was committed (or found committed): its batches deliver at once. */
  durable(lane: OwnedPartition): boolean {
    return this.#durable.has(lane)
  }

  /**
   * Commits `offset` (the first offset fetched in `lane`'s epoch) unless this process last committed exactly
   * it (with a delegate: hands it to the delegate, which knows what the group committed). Resolves with the
   * commit to report to the tracker once the epoch has a delivery, or undefined when the commit was dropped
   * because the partition is not owned in that epoch any more. Rejects when the broker refused it for
   * another reason: the caller errors the stream rather than deliver an unprotected record.
   */
  async commit(lane: OwnedPartition, offset: string): Promise<TrackedCommitOffset | undefined> {
    const { topic, partition, epoch } = lane
    const start: TrackedCommitOffset = { topic, partition, offset, epoch }
    if (this.#delegate !== undefined) {
      const durable = await this.#delegate.commit([start])
      if (durable.length === 0) return undefined
    } else if (this.#sink.lastSent(topic, partition) !== Number(offset)) {
      if (!(await this.#sendTogether(start))) return undefined
    }
    this.#durable.add(lane)
    return start
  }

  /**
   * Sends `start` in one commit with every start asked for before it goes out (a microtask later), and resolves with whether it
   * was sent. A client that runs the partitions' first batches at once (the platformatic adapter) asks for
   * all of them together: one request in place of one per partition, each queued behind the previous one in
   * the sink (12 partitions: the last one's first record waited for 12 round trips). kafkajs, one batch at
   * a time by default, asks for one per turn, as before.
   */
  #sendTogether(start: TrackedCommitOffset): Promise<boolean> {
    return new Promise<boolean>((settle, fail) => {
      if (this.#pending.push({ start, settle, fail }) > 1) return
      queueMicrotask(() => {
        const together = this.#pending.splice(0)
        this.#sink.commit(together.map((p) => p.start)).then(
          (sent) => {
            for (const { start: s, settle: done } of together) done(sent.some((o) => o.topic === s.topic && o.partition === s.partition && o.epoch === s.epoch))
          },
          (error: unknown) => {
            for (const { fail: failed } of together) failed(error)
          },
        )
      })
    })
  }
}
