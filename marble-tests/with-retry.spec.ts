import { expect } from 'chai'
import { TestScheduler } from 'rxjs/testing'
import { defer, throwError, type Observable } from 'rxjs'
import { marbleScheduler } from './marble-scheduler'
import { withRetry } from '../operators/with-retry'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { drop, failed, forward, type Result } from '../operators/result'

const boom = new Error('boom')

describe('withRetry (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('retries after backoff(attempt) and emits the first successful try', () => {
    scheduler.run(({ cold, expectObservable }) => {
      let tries = 0
      const project = withRetry<string, string>(
        () => (++tries < 3 ? cold<Result<string>>('-#', undefined, boom) : cold('-(r|)', { r: forward('ok') })),
        { maxAttempts: 5, backoff: n => 2 * n, scheduler },
      )
      // try 1 at 0 errors at 1, waits 2; try 2 at 3 errors at 4, waits 4; try 3 at 8 emits at 9.
      expectObservable(project('a', 0)).toBe('---------(r|)', { r: forward('ok') })
    })
  })

  it('gives one failed result with the attempt count when tries run out', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const project = withRetry<string, string>(() => cold('--#', undefined, boom), { maxAttempts: 3, backoff: () => 1, scheduler })
      // tries at 0, 3, 6 each error 2 frames later, 1-frame waits between.
      expectObservable(project('a', 0)).toBe('--------(f|)', { f: failed(boom, 3, 'dead-letter') })
    })
  })

  it("marks the failure 'fail' when onExhausted is 'fail', and stops at once on a non-retryable error", () => {
    scheduler.run(({ cold, expectObservable }) => {
      const project = withRetry<string, string>(() => cold('-#', undefined, boom), {
        maxAttempts: 10, retryable: () => false, onExhausted: 'fail', scheduler,
      })
      expectObservable(project('a', 0)).toBe('-(f|)', { f: failed(boom, 1, 'fail') })
    })
  })

  it('holds the values of a try that fails halfway: none of them leak', () => {
    scheduler.run(({ cold, expectObservable }) => {
      let tries = 0
      const project = withRetry<string, string>(
        () => (++tries === 1 ? cold('a-#', { a: forward('partial') }, boom) : cold('a-b|', { a: forward('x'), b: drop('y') })),
        { backoff: () => 0, scheduler },
      )
      expectObservable(project('a', 0)).toBe('-----(ab|)', { a: forward('x'), b: drop('y') })
    })
  })

  it('treats a synchronous throw of project like a failed try', () => {
    scheduler.run(({ expectObservable }) => {
      const project = withRetry<string, string>(() => { throw boom }, { maxAttempts: 2, backoff: () => 3, scheduler })
      expectObservable(project('a', 0)).toBe('---(f|)', { f: failed(boom, 2, 'dead-letter') })
    })
  })

  it('errors (not a dead letter) when backoff itself is broken', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const project = withRetry<string, string>(() => cold('#', undefined, boom), { backoff: () => NaN, scheduler })
      expectObservable(project('a', 0)).toBe('#', undefined, new RangeError('withRetry: backoff(1) returned NaN, not a finite delay >= 0'))
    })
  })

  it('inside groupByKeyConcat: later records of the retrying key wait, other keys go on', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const seen: string[] = []
      let a1Tries = 0
      const project = withRetry<string, string>(
        (item) => defer((): Observable<Result<string>> => {
          seen.push(`${item}@${scheduler.now()}`)
          if (item === 'a1' && ++a1Tries < 3) return throwError(() => boom)
          return cold('-(r|)', { r: forward(item) })
        }),
        { backoff: () => 3, scheduler },
      )
      // a1 tries at 0, 3, 6 (succeeds at 7); a2 (same key) waits until 7, done at 8; b1 (other key) runs at 1.
      const items = cold('a(bc)-------|', { a: 'a1', b: 'b1', c: 'a2' })
      expectObservable(items.pipe(groupByKeyConcat((s: string) => s[0], project))).toBe('--B----AC---|', {
        A: { item: 'a1', results: [forward('a1')] },
        B: { item: 'b1', results: [forward('b1')] },
        C: { item: 'a2', results: [forward('a2')] },
      })
      scheduler.flush()
      expect(seen).to.deep.equal(['a1@0', 'b1@1', 'a1@3', 'a1@6', 'a2@7'])
    })
  })

  it('rejects bad options at call time', () => {
    expect(() => withRetry(() => [], { maxAttempts: 0 })).to.throw(RangeError)
    expect(() => withRetry(() => [], { onExhausted: 'skip' as never })).to.throw(TypeError)
  })
})
