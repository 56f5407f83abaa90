import { Observable, map } from 'rxjs'

let settled = false

/**
 * Completes and unsubscribes a few throwaway RxJS subscriptions, once per process, before a source starts
 * delivering: it settles the hidden classes of RxJS's subscribers before the pipeline's hot path is compiled.
 *
 * Why: V8 tracks an object field that has only ever held its first value as constant (and its type as the
 * one class it has held), and optimized code that inlines `subscriber.next` relies on that. RxJS first writes
 * `isStopped`, `closed` and `destination` when a subscription completes or unsubscribes. In a pipeline whose
 * work completes no Observable (synchronous work, or Promises, which groupByKeyConcat takes directly), the
 * first such write comes when the first commit is acknowledged, well after every stage was optimized, and
 * V8 then throws all of that code away at once (seen with `--trace-deopt` and `--trace-generalization`:
 * about a dozen functions of every stage, deoptimized together). Done here, before any record, the same
 * writes change nothing compiled. `npm run bench -- session-cold` shows the difference in a fresh process.
 *
 * ```text
 * without: deliver ... optimized ... first commit acked -> isStopped/closed/destination generalized -> every stage deoptimized
 * with:    settle (generalized now) -> deliver ... optimized ... first commit acked -> nothing to throw away
 * ```
 *
 * @example
 * settleSubscriberShapes() // at a source's first subscription; later calls do nothing
 */
export function settleSubscriberShapes(): void {
  if (settled) return
  settled = true
  const ignore = (): void => undefined
  // A SafeSubscriber (subscribe with an observer) and an operator's subscriber (map), each completing, which
  // sets isStopped and then unsubscribes (closed, destination)...
  new Observable<number>((subscriber) => {
    subscriber.next(0)
    subscriber.complete()
  })
    .pipe(map((x) => x))
    .subscribe({ next: ignore, complete: ignore })
  // ... and one unsubscribed while still open.
  new Observable<never>(() => undefined).subscribe({ next: ignore }).unsubscribe()
}
