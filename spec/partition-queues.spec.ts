import { expect } from 'chai'
import fc from 'fast-check'
import { PartitionQueues } from '../lib/client/platformatic/partition-queues'
import type { PlatformaticMessage } from '../lib/client/platformatic/platformatic-types'

const message = (offset: number): PlatformaticMessage => ({
  topic: 't', partition: 0, offset: BigInt(offset), timestamp: 0n, key: undefined, value: Buffer.from(`${offset}`), headers: new Map(), leaderEpoch: 0,
})

// The stream's fetches of one partition as the adapter sees them: runs of consecutive offsets, each starting at
// or below where the previous one ended (the stream re-reads the committed offset at every assignment change).
const fetches = fc.array(fc.record({ back: fc.integer({ min: 0, max: 5 }), length: fc.integer({ min: 0, max: 6 }), stale: fc.boolean() }), { maxLength: 15 })

describe('PartitionQueues (the platformatic adapter)', () => {
  // Invariant: a partition's queue holds each offset once, in increasing order, and never a message stamped
  // before its ownership's refresh. Caught mutation (tried): dropping the `offset <= last` check in
  // accept() queues the re-fetched duplicates, and this fails; so do, in resolve()'s decimal compare
  // (atOrBelow), dropping the length test or making `<=` a `<` (the resolve of the last offset stops short).
  it('queues every offset once, in order, across re-fetches (500 runs)', () => {
    fc.assert(
      fc.property(fetches, (runs) => {
        const queues = new PartitionQueues()
        const queue = queues.assign('t', 0)
        const staleStamp = queues.stamp(message(0)) // taken before the refresh: -1
        queues.refreshed()
        const stamp = queues.stamp(message(0))
        let end = 0
        for (const { back, length, stale } of runs) {
          const from = Math.max(0, end - back)
          for (let o = from; o < from + length; o++) queues.accept(message(o), stale ? staleStamp : stamp)
          if (!stale) end = Math.max(end, from + length)
        }
        const offsets = queues.pending(queue).map((m) => Number(m.offset))
        expect(offsets).to.deep.equal(Array.from({ length: offsets.length }, (_, i) => i))
        expect(offsets.length).to.equal(end)
        if (offsets.length > 0) queues.resolve(queue, String(offsets[offsets.length - 1]))
        expect(queues.size).to.equal(0)
      }),
      { numRuns: 500 },
    )
  })

  it('drops a revoked partition and a new ownership starts empty', () => {
    const queues = new PartitionQueues()
    const first = queues.assign('t', 0)
    queues.refreshed()
    queues.accept(message(0), queues.stamp(message(0)))
    queues.revoke('t', 0)
    expect(first.revoked).to.equal(true)
    expect(queues.size).to.equal(0)
    const stale = queues.stamp(message(1)) // pushed after the revoke: belongs to no ownership
    const second = queues.assign('t', 0)
    expect(queues.accept(message(1), stale)).to.equal(false)
    expect(second.epoch).to.be.greaterThan(first.epoch)
  })
})
