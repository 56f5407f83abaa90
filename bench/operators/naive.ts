import {
  EMPTY,
  asyncScheduler,
  bufferTime,
  concatMap,
  from,
  groupBy,
  map,
  mergeMap,
  scan,
  tap,
  toArray,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs'
import type { OffsetTracker } from '../../lib/tracker/offset-tracker'
import type { RecordOrigin, TrackedCommitOffset } from '../../lib/record/record'
import type { Processed } from '../../operators/processed'

// The baselines: what one would compose from stock RxJS operators to get the same output as kafka-rx's
// operators. They are written plainly, without tricks in either direction, so the ratios mean something.

/**
 * Per key in order, keys concurrently, one `Processed` per item: `groupBy` + `mergeMap` + `concatMap`.
 * `mergeMap` is unbounded on purpose: `mergeMap(..., n)` over `groupBy` loses the items of groups beyond `n`
 * (rxjs#2028), so the baseline has no concurrency limit (with a Promise projection it runs every key at once).
 */
export function naiveGroupByKeyConcat<T, R, K>(
  keyOf: (item: T) => K,
  project: (item: T) => ObservableInput<R>,
): OperatorFunction<T, Processed<T, R>> {
  return (source) =>
    source.pipe(
      groupBy(keyOf),
      mergeMap((group) =>
        group.pipe(
          concatMap((item) =>
            from(project(item)).pipe(
              toArray(),
              map((results): Processed<T, R> => ({ item, results })),
            ),
          ),
        ),
      ),
    )
}

interface LaneState<P> {
  next: number
  readonly pending: Map<number, P>
  ready: P[]
}

/**
 * Back in `seq` order per (topic, partition, epoch): `groupBy` lane + `scan` over a Map of early arrivals,
 * releasing the run of consecutive seqs each time.
 */
export function naiveOrderedMerge<T extends RecordOrigin, R>(): OperatorFunction<Processed<T, R>, Processed<T, R>> {
  return (source) =>
    source.pipe(
      groupBy((p) => `${p.item.topic}/${p.item.partition}/${p.item.epoch}`),
      mergeMap((lane) =>
        lane.pipe(
          scan(
            (state: LaneState<Processed<T, R>>, p) => {
              state.ready = []
              state.pending.set(p.item.seq, p)
              let next = state.pending.get(state.next)
              while (next !== undefined) {
                state.pending.delete(state.next)
                state.ready.push(next)
                state.next++
                next = state.pending.get(state.next)
              }
              return state
            },
            { next: 0, pending: new Map(), ready: [] },
          ),
          mergeMap((state) => state.ready),
        ),
      ),
    )
}

/** What the naive commit stage emits: the offsets it committed. */
export interface NaiveCommit {
  readonly offsets: readonly TrackedCommitOffset[]
}

/**
 * Finish each record in the tracker, then commit what became committable every `interval` ms or every
 * `maxUncommitted` records, whichever first (`bufferTime` with a max size), one commit at a time (`concatMap`).
 */
export function naiveCommit<T extends RecordOrigin, R>(
  tracker: OffsetTracker,
  commit: (offsets: readonly TrackedCommitOffset[]) => ObservableInput<unknown>,
  options: { interval: number; maxUncommitted: number; scheduler?: SchedulerLike },
): OperatorFunction<Processed<T, R>, NaiveCommit> {
  const { interval, maxUncommitted, scheduler = asyncScheduler } = options
  return (source) =>
    source.pipe(
      tap((p) => tracker.finish(p.item)),
      bufferTime(interval, null, maxUncommitted, scheduler),
      concatMap(() => {
        const offsets = tracker.committable()
        if (offsets.length === 0) return EMPTY
        return from(commit(offsets)).pipe(
          toArray(),
          map((): NaiveCommit => {
            tracker.committed(offsets)
            return { offsets }
          }),
        )
      }),
    )
}

/** Delivery into the tracker, as a plain `tap`. */
export function naiveTrackDelivery<T extends RecordOrigin>(tracker: OffsetTracker): OperatorFunction<T, T> {
  return tap((record) => tracker.deliver(record))
}
