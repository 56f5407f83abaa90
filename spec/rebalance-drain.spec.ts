import { expect } from 'chai'
import fc from 'fast-check'
import { VirtualTimeScheduler } from 'rxjs'
import { RebalanceDrain, isRebalanceError } from '../lib/source/rebalance-drain'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'
import type { RecordOrigin, TrackedCommitOffset } from '../lib/record/record'
import { fromKafka } from '../lib/source/from-kafka'
import { FakeConsumer } from './fixtures/fake-consumer'

const NEVER = -1

// One drain in virtual time: per partition, records at offsets 0..n-1, each finishing at a frame before the
// budget or never; the drain starts at frame 0 and its commit is what the sink was given.
async function drainOnce(budget: number, finishes: readonly (readonly number[])[]): Promise<{ committed: TrackedCommitOffset[]; drained: boolean; endFrame: number }> {
  const scheduler = new VirtualTimeScheduler(undefined, budget)
  const epochs = new PartitionEpochs()
  epochs.assign({ t: finishes.map((_, p) => p) })
  let drain!: RebalanceDrain
  const tracker = new OffsetTracker({ onRelease: () => drain.released() })
  let endFrame = -1
  const sent: TrackedCommitOffset[] = []
  const sink = { commit: async (offsets: readonly TrackedCommitOffset[]) => { endFrame = scheduler.now(); sent.push(...offsets); return offsets.slice() } }
  drain = new RebalanceDrain(budget, tracker, epochs, sink, scheduler)
  finishes.forEach((times, partition) => times.forEach((at, offset) => {
    const record: RecordOrigin = { topic: 't', partition, offset: String(offset), seq: offset, epoch: epochs.epochOf('t', partition)! }
    tracker.deliver(record)
    if (at !== NEVER) scheduler.schedule(() => void tracker.finish(record), at)
  }))
  const result = drain.run(() => Promise.resolve(), 1_000_000)
  // The commit is sent at the drain's end, in the frames flushed here; its acknowledgement settles after them.
  scheduler.flush()
  const settled = await Promise.race([result, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))])
  expect(settled, 'the drain ended by its deadline').to.not.equal(undefined)
  const { drained } = settled!
  drain.reset()
  return { committed: sent, drained, endFrame }
}

describe('RebalanceDrain', () => {
  // Invariant: the drain's commit is, per partition, exactly the finished prefix at its end (never past an
  // unfinished record, nothing finished before the deadline left out), and it ends at the deadline or once
  // every owned record finished, whichever comes first.
  // Mutations seen to fail it (each made by hand in RebalanceDrain.run, then undone):
  // - committing the last delivered offset + 1 of each partition with a finished record instead of
  //   tracker.committable() (past an unfinished record);
  // - taking the offsets when the drain starts rather than when it ends (the finished prefix left out);
  // - a Drain given 2^30 ms instead of the budget (waits for 0 only): 'the drain ended by its deadline'.
  it('commits exactly the finished prefix of each partition, at min(deadline, last finish)', async () => {
    const finishesArb = fc.integer({ min: 1, max: 40 }).chain((budget) => fc.tuple(
      fc.constant(budget),
      fc.array(fc.array(fc.oneof(fc.constant(NEVER), fc.integer({ min: 0, max: budget - 1 })), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
    ))
    await fc.assert(fc.asyncProperty(finishesArb, async ([budget, finishes]) => {
      const { committed, drained, endFrame } = await drainOnce(budget, finishes)
      const allFinished = finishes.every((times) => times.every((at) => at !== NEVER))
      expect(drained).to.equal(allFinished)
      const lastFinish = Math.max(...finishes.flat())
      expect(endFrame, 'end frame').to.equal(allFinished ? lastFinish : budget)
      finishes.forEach((times, partition) => {
        const prefix = times.findIndex((at) => at === NEVER)
        const expected = prefix === -1 ? times.length : prefix
        const got = committed.filter((o) => o.partition === partition).map((o) => Number(o.offset))
        if (expected === 0) expect(got, `partition ${partition}: nothing finished in order`).to.deep.equal([])
        else expect(got, `partition ${partition}`).to.deep.equal([expected])
      })
    }), { numRuns: 300 })
  })

  it('tells the errors on which kafkajs rejoins from the others', () => {
    expect(isRebalanceError({ type: 'REBALANCE_IN_PROGRESS' })).to.equal(true)
    expect(isRebalanceError({ name: 'KafkaJSNonRetriableError', cause: { type: 'ILLEGAL_GENERATION' } })).to.equal(true)
    expect(isRebalanceError({ type: 'UNKNOWN_MEMBER_ID' })).to.equal(false)
    expect(isRebalanceError(new Error('boom'))).to.equal(false)
  })

  it('fromKafka refuses a drainOnRebalance that is not an integer number of ms >= 0, naming it', () => {
    const fake = new FakeConsumer()
    for (const drainOnRebalance of [-1, 1.5, Number.NaN, 2 ** 31, '100' as unknown as number]) {
      expect(() => fromKafka(fake, { topics: ['t'], drainOnRebalance }), String(drainOnRebalance)).to.throw(RangeError, /drainOnRebalance.*got/)
    }
    expect(() => fromKafka(fake, { topics: ['t'], drainOnRebalance: 0 })).to.not.throw()
  })
})
