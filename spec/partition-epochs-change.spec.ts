import { expect } from 'chai'
import fc from 'fast-check'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'
import { diffAssignments } from '../lib/client/platformatic/assignment-watch'

// Incremental rebalances (KIP-848): a sequence of assignments of partitions 0..7 of topic t, applied as the
// platformatic adapter applies them (diffAssignments, then PartitionEpochs.change).
const assignments = fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 8 }), { minLength: 1, maxLength: 12 })

describe('PartitionEpochs.change (incremental rebalances)', () => {
  // Invariant: a partition that stays owned across a change keeps its epoch, its lane and its seq, and the
  // generation does not move; revoked ones are not owned (their lane marked revoked); newly assigned ones get
  // an epoch above every earlier one. Caught mutations (each tried, each fails this property): change() not
  // marking a revoked lane `revoked` (a held batch of it would go on delivering), and change() bumping the
  // generation (every held batch and queued commit of the kept partitions would be voided, as eager rebalances do).
  it('touches only the partitions that moved (500 runs)', () => {
    fc.assert(
      fc.property(assignments, (sequence) => {
        const epochs = new PartitionEpochs()
        let before: number[] = []
        let maxEpoch = 0
        for (const after of sequence) {
          const kept = before.filter((p) => after.includes(p)).map((p) => {
            const lane = epochs.lane('t', p)
            lane.nextSeq += 3
            return { p, lane, epoch: lane.epoch, seq: lane.nextSeq }
          })
          const generation = epochs.generation
          const change = diffAssignments([{ topic: 't', partitions: before }], [{ topic: 't', partitions: after }], new Set(['t']))
          const lanes = epochs.change(change.revoked, change.assigned)
          expect(epochs.generation).to.equal(generation)
          for (const k of kept) {
            expect(epochs.lane('t', k.p)).to.equal(k.lane)
            expect(epochs.epochOf('t', k.p)).to.equal(k.epoch)
            expect(k.lane.nextSeq).to.equal(k.seq)
          }
          for (const lane of lanes.revoked) {
            expect(lane.revoked).to.equal(true)
            expect(epochs.epochOf('t', lane.partition)).to.equal(undefined)
          }
          for (const lane of lanes.assigned) {
            expect(lane.epoch).to.be.greaterThan(maxEpoch)
            expect(lane.nextSeq).to.equal(0)
          }
          for (const lane of lanes.assigned) maxEpoch = Math.max(maxEpoch, lane.epoch)
          for (const k of kept) maxEpoch = Math.max(maxEpoch, k.epoch)
          const owned = epochs.assigned().flatMap((a) => a.partitions).sort((a, b) => a - b)
          expect(owned).to.deep.equal([...after].sort((a, b) => a - b))
          before = after
        }
      }),
      { numRuns: 500 },
    )
  })
})
