/**
 * The `publishTransactional` operator: exactly-once consume-transform-produce. Its options are in
 * `options.ts`, one subscription's state machine in `run.ts`, what goes in each transaction in
 * `transaction-plan.ts`, one partition's producer in `partition-producer.ts`.
 */
import { Observable, type OperatorFunction } from 'rxjs'
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import type { RecordOrigin, TrackedCommitOffset } from '../../operators/record-origin'
import type { DeadLetterSource } from '../publish/dead-letter'
import { transactionalSettings, type PublishTransactionalOptions } from './options'
import { runTransactional } from './run'
import type { DelegatedCommits } from '../source/delegated-commits'

/** What `publishTransactional` needs of the source: a `KafkaSource` fits. */
export interface TransactionalSource {
  readonly tracker: { finish(origin: RecordOrigin): boolean; committed(offsets: readonly TrackedCommitOffset[]): void }
  isStale(record: RecordOrigin): boolean
  /** Takes over the source's own commits (start positions, control batches): see `KafkaSource.delegateCommits`. */
  delegateCommits(to: DelegatedCommits): () => void
}

/** One committed transaction: a partition's outputs and the commit of its input offsets, together. */
export interface TransactionCommit {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  /** The input offset committed (the next to read); undefined when every record was already committed. */
  readonly offset: string | undefined
  /** Input records the transaction covered, and of them those skipped (committed before, by a fenced one). */
  readonly records: number
  readonly skipped: number
  /** Messages written (outputs and dead letters). */
  readonly messages: number
  /** 1 when the first try committed. */
  readonly attempts: number
}

/**
 * Replaces `publish` + `commitOffsets` with transactions: each input partition has its own transactional
 * producer (`transactionalId` `<prefix>-<topic>-<partition>`), and a transaction holds consecutive records of
 * one partition: their outputs and dead letters, then `sendOffsets` of the offset past them, then `commit`.
 * A read_committed reader sees each input's outputs exactly once.
 *
 * - Collapsed: a partition's waiting records go in one transaction every `interval` ms, at once when
 *   `maxBatchSize` wait; one transaction per partition at a time, partitions in parallel.
 * - Ownership: records of a revoked epoch never go in a transaction (they are released, not sent). A new
 *   epoch starts a new producer, whose initialization fences every older one (a zombie's included) and
 *   settles its open transaction; then the committed offset is read again and records below it are skipped.
 * - Every commit of the group is transactional: the source hands its own (each assignment's start position,
 *   made durable before its first record is delivered; the offset past a control batch) to the partition's
 *   fenced producer, and sends none through the consumer, which could rewind a commit of the old owner.
 * - Failure: a failed transaction is aborted, nothing of it committed; it runs again on a new producer after
 *   `backoff(attempt)` (skipping what a lost acknowledgement hid). After `maxAttempts` the stream errors, with
 *   a {@link TransactionFencedError} when every attempt was fenced while the partition was still owned.
 * - Results as in `publish`: `forward`, `forwardMany`, `drop`, dead letters; `failed` with action 'fail'
 *   commits what came before it in every partition, then errors.
 * - Source completes (a drain): every waiting record goes at once; completes once all committed and the
 *   producers are disconnected. Unsubscribed: no new transaction; those out finish, then producers disconnect.
 *
 * ```text
 * input (partition 0):  a-b-c-------d--|    interval 4
 * transactions:         ----[abc]-----[d]   each [..] = send outputs, sendOffsets(past its last), commit
 * output:               -------T--------(T|)
 * ```
 *
 * @example
 * source.pipe(
 *   groupByKeyConcat(recordKey, (r) => forward({ key: r.key, value: price(r) }), { skip: source.isStale }),
 *   orderedMerge(),
 *   publishTransactional(source, { consumerGroupId: 'pricing', topic: 'prices', producer: makeProducer, admin }),
 * ).subscribe()
 *
 * @param source The `fromKafka` source: records are finished in its tracker once their transaction committed.
 * @param options See {@link PublishTransactionalOptions}.
 * @throws {TypeError|RangeError} At call time, for invalid options.
 */
export function publishTransactional<T extends DeadLetterSource, O extends OutputMessage>(
  source: TransactionalSource, options: PublishTransactionalOptions,
): OperatorFunction<Processed<T, Result<O>>, TransactionCommit> {
  const settings = transactionalSettings(options)
  if (typeof source?.isStale !== 'function' || typeof source.tracker?.finish !== 'function' || typeof source.delegateCommits !== 'function') {
    throw new TypeError('publishTransactional: source must be a fromKafka source (with isStale, a tracker and delegateCommits)')
  }
  return (input) => new Observable<TransactionCommit>((subscriber) => runTransactional(input, subscriber, source, settings))
}
