import { expect } from 'chai'
import fc from 'fast-check'
import { of, throwError } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { withRetry } from '../operators/with-retry'
import { failed, forward } from '../operators/result'

describe('withRetry', () => {
  // Invariant: with tries 1..f failing, the output is the result of try f + 1 after waiting backoff(1..f) when
  // f < maxAttempts, else one failed(error, maxAttempts) after backoff(1..maxAttempts - 1); project runs that many times.
  // Mutations caught (both by the marble frames not matching: wrong time or wrong attempts in the failure):
  // giving up at `n > maxAttempts` instead of `>=` (one try too many); scheduling `attempt(n)` instead of
  // `attempt(n + 1)` (attempts never grow: never gives up, the next backoff is wrong).
  it('tries exactly as often and waits exactly as long as the options say (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 8, maxLength: 8 }),
      (failures, maxAttempts, delays) => {
        const scheduler = new TestScheduler((a, b) => { expect(a).to.deep.equal(b) })
        scheduler.run(({ expectObservable }) => {
          let tries = 0
          const project = withRetry<string, string>(
            () => (++tries <= failures ? throwError(() => `e${tries}`) : of(forward('ok'))),
            { maxAttempts, backoff: n => delays[n - 1]!, scheduler },
          )
          const made = Math.min(failures + 1, maxAttempts)
          const waited = delays.slice(0, made - 1).reduce((a, b) => a + b, 0)
          const value = failures < maxAttempts ? forward('ok') : failed(`e${maxAttempts}`, maxAttempts)
          expectObservable(project('x', 0)).toBe(`${waited}ms (v|)`, { v: value })
          scheduler.flush()
          expect(tries).to.equal(made)
        })
      },
    ), { numRuns: 500 })
  })
})
