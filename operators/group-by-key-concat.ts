import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs'
import { KeyQueues } from './key-queues'
import { checkMetrics, type PipelineMetrics } from './pipeline-metrics'
import type { Processed } from './processed'

/** Options of {@link groupByKeyConcat}. */
export interface GroupByKeyConcatOptions<T> {
  /** Max projections running at once across all keys. Default: Infinity (like mergeMap). */
  concurrency?: number
  /** Checked just before an item's projection would start; when true, the item is not run and is emitted
   *  at once as { item, results: [] } (used to drop queued work of revoked Kafka partitions while keeping
   *  every record visible to orderedMerge and the commit). Default: never skip. NoInfer: a wider `skip` such
   *  as `source.isStale` (it takes any RecordOrigin) must not make the item type RecordOrigin. */
  skip?: (item: NoInfer<T>) => boolean
  /** Lets `pipelineStats` read active keys, running and queued items (at snapshot time only). Default: none. */
  metrics?: PipelineMetrics
}

/**
 * Runs `project` one item at a time per key, in arrival order, and different keys concurrently (at most
 * `concurrency` projections in all). Emits exactly one {@link Processed} per item, when its projection
 * completes, carrying every value the projection emitted: output is in completion order, which is arrival
 * order within a key but not across keys (`orderedMerge` restores partition order downstream).
 *
 * Keys are compared like `Map` keys (SameValueZero). A key that finished an item and has more waiting goes
 * to the back of the line of keys waiting for a slot, so a hot key cannot starve the others; a key's state
 * is dropped as soon as it has nothing queued or running, so memory follows the keys in flight, not the
 * keys ever seen. An item that arrives while nothing is queued or running, and whose work is done at once (an
 * array, or skipped), runs without `keyOf` being called: no earlier item of any key is unfinished, so its key
 * cannot matter (a no-op or filtering stage pays no key at all). Completes when the source has completed and
 * all work is done. An error thrown by `keyOf`,
 * `skip` or `project`, or emitted by a projection, errors the output and cancels all work; unsubscribing
 * cancels running projections and drops queued items.
 *
 * Unlike `groupBy` + `mergeMap(g => g.pipe(concatMap(project)), n)`, no group outlives its work and no group
 * is left unsubscribed beyond `n` (rxjs#2028); queues are linked lists, O(1) per item, and synchronous
 * projections run in a loop rather than recursion.
 *
 * ```text
 * source:  -abc|         a = 'a1', b = 'b1', c = 'a2': a1 and a2 share key 'a'
 * project: ---(r|)       every item: three frames of work, then one value
 * a1:      -^--!
 * b1:      --^--!        another key: runs beside a1
 * a2:      ----^--!      queued at frame 3 until a1 is done
 * result:  ----AB-(C|)   A = { item: 'a1', results: [r] }, ...: completion order
 * ```
 *
 * @example
 * ```ts
 * records$.pipe(
 *   // Charges of one customer never overlap and keep their order; 256 customers are charged at once.
 *   groupByKeyConcat(r => r.key?.toString(), r => charge(r), { concurrency: 256 }),
 * ).subscribe(({ item, results }) => console.log(item.offset, results))
 * ```
 *
 * @param keyOf The key of an item; items of one key are projected one after another.
 * @param project The work for one item and its arrival index (0, 1, 2, ... across all keys, as in
 *   `mergeMap`); may return an Observable, Promise, array or (async) iterable.
 * @param options `concurrency` (default Infinity), `skip` and `metrics` (default: none).
 * @returns An operator emitting one `Processed<T, R>` per source item.
 * @throws {TypeError} At call time, when `concurrency` is not an integer >= 1 or Infinity.
 */
export function groupByKeyConcat<T, R, K = unknown>(
  keyOf: (item: NoInfer<T>) => K,
  project: (item: T, index: number) => ObservableInput<R>,
  options: GroupByKeyConcatOptions<T> = {},
): OperatorFunction<T, Processed<T, R>> {
  const { concurrency = Infinity, skip, metrics } = options
  if (typeof keyOf !== 'function') throw new TypeError('groupByKeyConcat: keyOf must be a function')
  if (typeof project !== 'function') throw new TypeError('groupByKeyConcat: project must be a function')
  if (typeof concurrency !== 'number' || !(concurrency === Infinity || (Number.isInteger(concurrency) && concurrency >= 1))) {
    throw new TypeError(`groupByKeyConcat: concurrency must be an integer >= 1 or Infinity, got ${String(concurrency)}`)
  }
  if (skip !== undefined && typeof skip !== 'function') {
    throw new TypeError('groupByKeyConcat: skip must be a function when given')
  }
  checkMetrics(metrics, 'groupByKeyConcat')
  return (source) =>
    new Observable<Processed<T, R>>((subscriber) => {
      const machine = new KeyQueues<T, R, K>(subscriber, keyOf, project, concurrency, skip)
      if (metrics === undefined) return machine.connect(source)
      const unregister = metrics.register(machine)
      const teardown = machine.connect(source)
      return () => {
        unregister()
        teardown()
      }
    })
}
