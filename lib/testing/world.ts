/**
 * A generated world for `runPipeline`: one topic's partition logs, a group of members, and the script the
 * group follows. Plain data, so fast-check can generate it, shrink it and print it.
 */
import type { LogEntry } from './in-memory/log-entry'

/** One step of a group script. `member` indexes the world's members (taken modulo their count). */
export type GroupStep =
  /** The member fetches one batch of up to `max` entries from its next owned partition with data. */
  | { readonly kind: 'fetch'; readonly member: number; readonly max: number }
  /** Virtual time passes: work and commit intervals advance `frames` frames. */
  | { readonly kind: 'tick'; readonly frames: number }
  /** The group rebalances: partition `i` goes to the `owners[i]`-th live member (modulo). */
  | { readonly kind: 'rebalance'; readonly owners: readonly number[] }
  /** The member's process is killed (SIGKILL): nothing unsent reaches the broker; the group rebalances. */
  | { readonly kind: 'crash'; readonly member: number }
  /** A crashed member starts again as a new process, from the group's committed offsets. */
  | { readonly kind: 'restart'; readonly member: number }
  /** The broker fails the next `count` commits with a retriable error. */
  | { readonly kind: 'fail-commits'; readonly count: number }
  /** The next `count` commits reach the broker only after the next step (in flight across a rebalance, say). */
  | { readonly kind: 'slow-commits'; readonly count: number }

/** Everything a run needs: the data, the group, the script. */
export interface World {
  readonly topic: string
  /** Partition logs: `partitions[p]` is partition `p`'s log, offsets growing (gaps and markers allowed). */
  readonly partitions: readonly (readonly LogEntry[])[]
  /** How many members the group has (each starts as one process). */
  readonly members: number
  readonly steps: readonly GroupStep[]
}
