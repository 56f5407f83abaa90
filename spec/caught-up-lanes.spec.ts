import { expect } from 'chai'
import { CaughtUpLanes } from '../lib/source/caught-up-lanes'
import type { OwnedPartition } from '../lib/tracker/partition-epochs'

const lane = (partition: number): OwnedPartition => ({ topic: 't', partition, epoch: 1, nextSeq: 0 })

describe('CaughtUpLanes', () => {
  // The fair-budget failure: batches of one fetch come one after another; none may linger while another
  // partition of the assignment may still have a batch waiting behind it.
  it('behaves as the JSDoc sketch shows: unseen partitions count as caught up only after a whole fetch round', () => {
    const [l0, l1, l2] = [lane(0), lane(1), lane(2)]
    const lanes = new CaughtUpLanes()
    lanes.assign([l0, l1, l2])
    lanes.fetchStarted()
    lanes.batchEnded(l0, true)
    expect(lanes.othersCaughtUp(l0), '1 and 2 unseen in the first round').to.equal(false)
    lanes.batchEnded(l1, true)
    expect(lanes.othersCaughtUp(l1), '2 unseen in the first round').to.equal(false)
    lanes.fetchStarted()
    lanes.batchEnded(l0, true)
    expect(lanes.othersCaughtUp(l0), '1 caught up, 2 had no batch in a whole round').to.equal(true)
  })

  it('a partition whose last batch was not delivered in full, or ended below its high watermark, is not caught up', () => {
    const [l0, l1] = [lane(0), lane(1)]
    const lanes = new CaughtUpLanes()
    lanes.assign([l0, l1])
    lanes.fetchStarted()
    lanes.fetchStarted()
    lanes.batchEnded(l1, false)
    expect(lanes.othersCaughtUp(l0)).to.equal(false)
    lanes.batchEnded(l1, true)
    expect(lanes.othersCaughtUp(l0)).to.equal(true)
    // Revoked partitions do not count; a new assignment starts over.
    l1.revoked = true
    lanes.batchEnded(l1, false)
    expect(lanes.othersCaughtUp(l0)).to.equal(true)
    const l2 = lane(2)
    lanes.assign([l0, l2])
    expect(lanes.othersCaughtUp(l0), 'no fetch round since the assignment').to.equal(false)
  })
})
