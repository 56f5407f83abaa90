/**
 * The log of a run in an in-memory world: what the broker saw (assignments, commits) and what the pipeline
 * did (work started, finished or failed, results emitted), in the order it happened. The checkers
 * (`kafka-rx/testing`'s `check*` functions) read nothing else.
 */

/** Who did something: a group member, and which process incarnation of it (a restart is a new process). */
export interface Actor {
  /** The member's name in the world, e.g. `'m0'`. */
  readonly member: string
  /** Grows with every process started in the run: a crashed and restarted member is a new process. */
  readonly process: number
}

/** One record, as events name it. `key` is the key as written (`null` for a null key). */
export interface RecordRef {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
}

/** Something that happened in a run. */
export type RunEvent =
  /** The group completed a rebalance: this process owns `partitions` in `generation`. */
  | (Actor & { readonly kind: 'assign'; readonly generation: number; readonly partitions: Readonly<Record<string, readonly number[]>> })
  /** The broker accepted a commit of `offset` (next offset to read); `owned`: the partition was assigned to it. */
  | (Actor & { readonly kind: 'commit'; readonly generation: number; readonly topic: string; readonly partition: number; readonly offset: number; readonly owned: boolean })
  /** The broker refused a commit: a stale generation, or an injected failure. */
  | (Actor & { readonly kind: 'commit-refused'; readonly reason: string })
  /** The pipeline started, finished or failed one attempt of a record's work (`epoch`: its delivery). */
  | (Actor & RecordRef & { readonly kind: 'work-start' | 'work-done' | 'work-failed'; readonly epoch: number })
  /** The pipeline dropped a record on purpose (`drop(record)`): it counts as finished. */
  | (Actor & RecordRef & { readonly kind: 'drop'; readonly epoch: number })
  /**
   * A result left the pipeline (`output()`), in the order the pipeline emitted it; `stale`: its partition
   * was revoked (or assigned again) since the record was delivered, so the commit ignores it.
   */
  | (Actor & RecordRef & { readonly kind: 'output'; readonly epoch: number; readonly stale: boolean })
  /** A process died: `crash` (killed by the script), `error` (its pipeline errored), `stop` (ended cleanly). */
  | (Actor & { readonly kind: 'crash' | 'error' | 'stop'; readonly message?: string })
