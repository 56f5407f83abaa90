import type { TrackedCommitOffset } from '../record/record'

/**
 * Where a source sends the commits it makes on its own (the start position of each assignment, the offset
 * past a control batch) when another stage owns the group's offsets: `publishTransactional`, whose commits
 * go in transactions of producers that fenced every older owner of the partition.
 *
 * Why: a plain `commitOffsets` of the consumer is not fenced. A new owner's start commit (the offset it
 * fetched at assignment) could land after a transaction of the previous owner that committed further
 * (one that was already committing when the partition moved), and rewind the group: the records in
 * between would then be processed, and their outputs committed, twice. So with a delegate the source
 * sends no commit of its own: not at assignment, revoke, control batches, nor shutdown.
 *
 * ```text
 * GROUP_JOIN t[2] epoch 5   first batch 200..249   delegate.commit([t[2]@200 e5])   deliver 200..
 *                                                   (fence the old producers, read the committed offset:
 *                                                    250 committed already? nothing to commit; records
 *                                                    below 250 are skipped by the transactions)
 * ```
 *
 * @example
 * const release = source.delegateCommits({ commit: async (offsets) => commitInTransactions(offsets) })
 */
export interface DelegatedCommits {
  /**
   * Makes each position durable unless the group already has a commit at or past it; resolves with those
   * durable now (in either way), leaving out those whose partition is not owned in that epoch any more.
   * Rejects when it cannot (the source then errors rather than deliver an unprotected record).
   */
  commit(offsets: readonly TrackedCommitOffset[]): Promise<readonly TrackedCommitOffset[]>
}
