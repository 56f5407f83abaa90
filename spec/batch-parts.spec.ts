import { expect } from 'chai'
import fc from 'fast-check'
import { Lane } from '../operators/batch-parts'

describe('batchByKey lane queue', () => {
  // Invariant: a lane is a FIFO whose array never holds more than twice what waits (plus 128),
  // however enqueues and dequeues interleave: a hot key's queue that never empties stays bounded.
  // Mutation caught: removing the compaction in `dequeue` (the array then grows with every item ever queued).
  it('dequeues in enqueue order and keeps its array bounded by what waits', () => {
    fc.assert(
      // A prefill, then pushes and pops at random: the queue mostly stays non-empty, as a hot key's does.
      fc.property(fc.integer({ min: 0, max: 200 }), fc.array(fc.boolean(), { minLength: 500, maxLength: 2000 }), (prefill, ops) => {
        const lane = new Lane<number, number, number, string>('k')
        const model: number[] = []
        let next = 0
        for (const push of [...Array<boolean>(prefill).fill(true), ...ops]) {
          if (push || model.length === 0) {
            lane.enqueue(next)
            model.push(next++)
          } else if (lane.dequeue() !== model.shift()) return false
          // Plain comparisons, not chai, in this loop of up to 2,200 steps per run.
          if (lane.hasWaiting() !== model.length > 0) return false
          if ((lane.waiting?.length ?? 0) > 2 * model.length + 128) return false
        }
        return true
      }),
      { numRuns: 500 },
    )
  })

  it('stays bounded for a hot key that never drains (two in, one out, then one in, one out)', () => {
    const lane = new Lane<number, number, number, string>('k')
    for (let i = 0; i < 100; i++) lane.enqueue(i)
    for (let i = 100; i < 100_000; i++) {
      lane.enqueue(i)
      expect(lane.dequeue()).to.equal(i - 100)
    }
    expect(lane.waiting!.length).to.be.at.most(2 * 100 + 128)
  })
})
