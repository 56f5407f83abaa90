import { expect } from 'chai'
import { TestScheduler } from 'rxjs/testing'

/**
 * The TestScheduler every marble spec uses: frames compared with chai's deep equality, which compares
 * errors by constructor and message (not by stack), so an expected `new Error('boom')` matches.
 */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected)
  })
}
