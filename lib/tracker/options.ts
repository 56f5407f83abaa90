/**
 * `OffsetTracker`'s options and their call-time check. Apart from `offset-tracker.ts` so that the tracker's
 * file holds only its state and the per-record path.
 */
import type { RecordOrigin } from '../record/record'

/** Options of {@link OffsetTracker}. */
export interface OffsetTrackerOptions {
  /** Clock in ms for ages. Default `Date.now`; pass `() => scheduler.now()` in virtual time. */
  now?: () => number
  /** Called after a finish released in-flight budget, with the new total `inFlight` and the finished record. */
  onRelease?: (inFlight: number, released: RecordOrigin) => void
  /**
   * Also offer for commit a partition whose committed offset did not move but where records above it
   * finished since the last offset map was taken (`finishedAbove`): the offset map in the commit's metadata
   * then keeps up behind a slow record. Default false.
   */
  mapFinished?: boolean
}

/**
 * Checks `OffsetTracker`'s options and applies the default clock.
 *
 * ```text
 * {}                 ->  { now: Date.now, onRelease: undefined, mapFinished: false }
 * { now: 5 }         ->  TypeError
 * ```
 *
 * @example
 * const { now, onRelease } = trackerOptions({ now: () => scheduler.now() })
 *
 * @throws {TypeError} When `now` or `onRelease` is not a function.
 */
export function trackerOptions(options: OffsetTrackerOptions): {
  now: () => number
  onRelease: ((inFlight: number, released: RecordOrigin) => void) | undefined
  mapFinished: boolean
} {
  const { now = Date.now, onRelease, mapFinished = false } = options
  if (typeof now !== 'function') throw new TypeError('OffsetTracker: options.now must be a function')
  if (onRelease !== undefined && typeof onRelease !== 'function') {
    throw new TypeError('OffsetTracker: options.onRelease must be a function')
  }
  return { now, onRelease, mapFinished: mapFinished === true }
}
