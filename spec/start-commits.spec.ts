import { expect } from 'chai'
import fc from 'fast-check'
import type { TopicPartitionOffsetLike } from '../lib/client/consumer'
import { KafkaCommitSink } from '../lib/source/commit-sink'
import { StartCommits } from '../lib/source/start-commits'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'

describe('StartCommits', () => {
  // Invariant: starts asked for together go out in one commit, and each caller learns whether its own start
  // was sent: durable when its partition is still owned in that epoch, undefined when it was revoked before
  // the commit went out. Caught mutations (each tried by hand, seen to fail, undone): one commit per start
  // (the old `sink.commit([start])`: more than one request); every caller told "sent" whatever the sink
  // acknowledged (`done(true)`).
  it('sends the starts asked for together in one commit and tells each caller its own outcome (300 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        async (partitions, revokedFirst, reassign) => {
          const requests: TopicPartitionOffsetLike[][] = []
          const epochs = new PartitionEpochs()
          epochs.assign({ t: [0, 1, 2, 3, 4, 5, 6, 7] })
          const starts = new StartCommits(new KafkaCommitSink({ commitOffsets: async (o) => void requests.push(o) }, epochs))
          const lanes = partitions.map((p) => epochs.lane('t', p))
          const results = lanes.map((lane, i) => starts.commit(lane, String(10 + i)))
          // Revoked (and maybe handed back under a new epoch) after asking, before the commit goes out.
          const revoked = partitions.filter((p) => revokedFirst[p])
          if (revoked.length > 0) epochs.change([{ topic: 't', partitions: revoked }], reassign ? [{ topic: 't', partitions: revoked }] : [])
          const outcomes = await Promise.all(results)
          const kept = partitions.filter((p) => !revokedFirst[p])
          expect(requests.length).to.equal(kept.length === 0 ? 0 : 1)
          expect((requests[0] ?? []).map((o) => o.partition).sort()).to.deep.equal([...kept].sort())
          outcomes.forEach((outcome, i) => {
            expect(outcome === undefined).to.equal(revokedFirst[partitions[i]!])
            expect(starts.durable(lanes[i]!)).to.equal(!revokedFirst[partitions[i]!])
          })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('rejects every start of a commit the broker refused for a reason other than ownership', async () => {
    const epochs = new PartitionEpochs()
    epochs.assign({ t: [0, 1] })
    const starts = new StartCommits(new KafkaCommitSink({ commitOffsets: async () => Promise.reject(new Error('broker down')) }, epochs))
    const outcomes = await Promise.allSettled([starts.commit(epochs.lane('t', 0), '1'), starts.commit(epochs.lane('t', 1), '1')])
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'sent'))).to.deep.equal(['broker down', 'broker down'])
  })
})
