import type { Observable, OperatorFunction } from 'rxjs'
import { createTestScheduler } from './test-scheduler'

/** One notification of a pipeline run in virtual time, with the frame it happened in. */
export type MarbleEvent<R> =
  | { readonly frame: number; readonly kind: 'next'; readonly value: R }
  | { readonly frame: number; readonly kind: 'complete' }
  | { readonly frame: number; readonly kind: 'error'; readonly error: unknown }

/**
 * Runs `pipeline` over a cold source described by `marbles` in virtual time and returns everything it did,
 * with frame numbers, so an ordering test needs neither a broker nor a particular assertion library.
 * `pipeline` receives the virtual scheduler: pass it to every time-based option (`commitOffsets`'s
 * `scheduler`, `OffsetTracker`'s `now`). Timers inside projections (`timer(5)`) run in virtual time too.
 *
 * ```text
 * runMarbles('a-b|', { a, b }, () => groupByKeyConcat(r => r.key, r => timer(3).pipe(map(() => r.value))))
 * // → [{ frame: 3, kind: 'next', value: { item: a, results: [...] } }, { frame: 5, ... }, { frame: 5, kind: 'complete' }]
 * ```
 *
 * @example
 * const out = runMarbles('abc|', records({ a: { key: 'k' }, b: { key: 'k' }, c: { key: 'j' } }), (scheduler) =>
 *   pipe(groupByKeyConcat(r => r.key, r => timer(r.key === 'k' ? 5 : 1, scheduler)), orderedMerge()))
 * assert.deepEqual(out.filter(e => e.kind === 'next').map(e => e.value.item.offset), ['0', '1', '2'])
 */
export function runMarbles<T, R>(
  marbles: string,
  values: Readonly<Record<string, T>>,
  pipeline: (scheduler: ReturnType<typeof createTestScheduler>) => OperatorFunction<T, R>,
  options: { readonly maxFrames?: number } = {},
): MarbleEvent<R>[] {
  const scheduler = createTestScheduler()
  if (options.maxFrames !== undefined) scheduler.maxFrames = options.maxFrames
  const events: MarbleEvent<R>[] = []
  scheduler.run(({ cold }) => {
    const output: Observable<R> = cold(marbles, values).pipe(pipeline(scheduler))
    output.subscribe({
      next: (value) => events.push({ frame: scheduler.now(), kind: 'next', value }),
      complete: () => events.push({ frame: scheduler.now(), kind: 'complete' }),
      error: (error: unknown) => events.push({ frame: scheduler.now(), kind: 'error', error }),
    })
  })
  return events
}
