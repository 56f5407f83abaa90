import { expect } from 'chai'
import fc from 'fast-check'
import { unionRanges } from '../lib/tracker/range-union'

// Flat half-open ranges from a set of small offsets.
const rangesOf = (set: Set<number>): number[] => {
  const out: number[] = []
  for (const o of [...set].sort((a, b) => a - b)) {
    if (out.length > 0 && out[out.length - 1] === o) out[out.length - 1] = o + 1
    else out.push(o, o + 1)
  }
  return out
}

describe('unionRanges (what an inheriting commit names)', () => {
  // Invariant: the union names exactly the offsets >= from in either input, as sorted disjoint ranges.
  // Catches (seen failing): keeping a range that ends at `from` (end <= from -> end < from), and not
  // joining an overlapping range (the `>=` to `>` in the merge test: touching ranges left apart).
  it('names exactly the offsets at or above from in either set, sorted, disjoint, joined', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(60)), fc.uniqueArray(fc.nat(60)), fc.nat(60), (a, b, from) => {
        const got = unionRanges(rangesOf(new Set(a)), rangesOf(new Set(b)), from)
        expect(got).to.deep.equal(rangesOf(new Set([...a, ...b].filter((o) => o >= from))))
      }),
      { numRuns: 500 },
    )
  })
})
