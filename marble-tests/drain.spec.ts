import { expect } from 'chai'
import { Observable } from 'rxjs'
import { type TestScheduler } from 'rxjs/testing'
import { Drain } from '../lib/source/drain'
import { marbleScheduler } from './marble-scheduler'

// `inFlight` records are running; each value of `finishes` finishes one (and tells the drain, as the
// tracker's onRelease does); `aborts` starts the drain; `cancels` cancels it. The output is what `end` got:
// 'd' drained, 't' timed out, then complete.
function drained(
  scheduler: TestScheduler, inFlight: number, timeout: number,
  events: { aborts: Observable<unknown>; finishes?: Observable<unknown>; cancels?: Observable<unknown> },
): Observable<string> {
  return new Observable<string>((subscriber) => {
    let running = inFlight
    const drain = new Drain(() => running, timeout, (ok) => {
      subscriber.next(ok ? 'd' : 't')
      subscriber.complete()
    }, scheduler)
    const subs = [
      events.aborts.subscribe(() => drain.start()),
      events.finishes?.subscribe(() => drain.released(--running)),
      events.cancels?.subscribe(() => drain.cancel()),
    ]
    return () => subs.forEach((s) => s?.unsubscribe())
  })
}

describe('Drain (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('behaves as the JSDoc sketch shows: drained at the last finish', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const aborts = hot('  --x')
      const finishes = hot('----f---f-----f')
      expectObservable(drained(scheduler, 3, 20, { aborts, finishes })).toBe('--------------(d|)')
    })
  })

  it('times out `timeout` frames after the abort when records are still running', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const aborts = hot('  --x')
      const finishes = hot('----f---f------------------f')
      expectObservable(drained(scheduler, 3, 10, { aborts, finishes })).toBe('------------(t|)')
    })
  })

  it('ends at the abort when nothing is in flight (also when the last one finished before it)', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(drained(scheduler, 0, 10, { aborts: hot('---x') })).toBe('---(d|)')
      const finishes = hot('-f')
      expectObservable(drained(scheduler, 1, 10, { aborts: hot('---x'), finishes })).toBe('---(d|)')
    })
  })

  it('ignores releases before the abort, and a second abort', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const aborts = hot('  ---x---x')
      const finishes = hot('-f--------f')
      expectObservable(drained(scheduler, 2, 20, { aborts, finishes })).toBe('----------(d|)')
    })
  })

  it('cancel() stops the wait: end is never called', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const aborts = hot(' --x')
      const cancels = hot('-----c')
      const finishes = hot('-------f')
      expectObservable(drained(scheduler, 1, 4, { aborts, finishes, cancels })).toBe('-')
    })
  })

  it('never calls end from inside start() or released(): from the scheduler, in the same frame', () => {
    scheduler.run(() => {
      let running = 1
      let inside = false
      const ends: boolean[] = []
      const drain = new Drain(() => running, 5, (ok) => {
        expect(inside).to.equal(false)
        ends.push(ok)
      }, scheduler)
      scheduler.schedule(() => {
        inside = true
        drain.start()
        drain.released(--running)
        inside = false
      }, 1)
      scheduler.flush()
      expect(ends).to.deep.equal([true])
      expect(scheduler.now()).to.equal(1)
    })
  })
})
