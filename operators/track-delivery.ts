import { Observable, type MonoTypeOperatorFunction } from 'rxjs'
import type { CommitTracker } from './commit-tracker'
import type { RecordOrigin } from './record-origin'

/**
 * Tells `tracker` that each record passing through was delivered, then passes it on unchanged.
 *
 * For pure pipelines and tests that build records by hand: the Kafka source (`fromKafka`) delivers to its
 * tracker itself. A record the tracker refuses (seq out of order, offset not increasing, stale epoch) errors
 * the stream with the tracker's RangeError, since committing around it could lose data.
 *
 * ```text
 * source:            --a--b--c--|
 * trackDelivery(t):  --a--b--c--|     (t.deliver(a), t.deliver(b), t.deliver(c) as each passes)
 * ```
 *
 * @example
 * const tracker = new OffsetTracker()
 * from(records).pipe(
 *   trackDelivery(tracker),
 *   groupByKeyConcat(r => r.key, r => handle(r)),
 *   commitOffsets({ tracker, commit: offsets => consumer.commitOffsets(offsets) }),
 * )
 */
export function trackDelivery<T extends RecordOrigin>(tracker: CommitTracker): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (record) => {
          // A synchronous source keeps emitting after we errored: deliver nothing more then.
          if (subscriber.closed) return
          try {
            tracker.deliver(record)
          } catch (err) {
            subscriber.error(err)
            return
          }
          subscriber.next(record)
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    )
}
