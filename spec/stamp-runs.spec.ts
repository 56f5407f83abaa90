import { expect } from 'chai'
import fc from 'fast-check'
import { StampRuns } from '../lib/client/platformatic/stamp-runs'

// A push of a stamp (few distinct ones, so that runs form), or a read.
const steps = fc.array(fc.oneof(fc.integer({ min: -1, max: 2 }).map((stamp) => ({ push: stamp })), fc.constant({ push: undefined })), { maxLength: 60 })

describe('StampRuns (the platformatic adapter)', () => {
  // Invariant: shift() returns the stamp of the oldest message pushed and not yet shifted (a FIFO), and -1
  // once none is left. Caught mutations (each tried by hand, seen to fail, undone): merging a push into the
  // last run whatever its stamp (dropping `=== stamp`); leaving a run only after its count passed zero
  // (`--count < 0`); resetting #head on compaction without emptying the runs.
  it('hands out the stamps in push order, -1 when empty (500 runs)', () => {
    fc.assert(
      fc.property(steps, (script) => {
        const runs = new StampRuns()
        const model: number[] = []
        for (const { push } of script) {
          if (push !== undefined) {
            runs.push(push)
            model.push(push)
          } else {
            expect(runs.shift()).to.equal(model.length === 0 ? -1 : model.shift())
          }
        }
        while (model.length > 0) expect(runs.shift()).to.equal(model.shift())
        expect(runs.shift()).to.equal(-1)
      }),
      { numRuns: 500 },
    )
  })

  it('gives the messages in the stream before it was watched no ownership', () => {
    const runs = new StampRuns()
    runs.pushMany(-1, 2)
    runs.push(3)
    expect([runs.shift(), runs.shift(), runs.shift(), runs.shift()]).to.deep.equal([-1, -1, 3, -1])
  })
})
