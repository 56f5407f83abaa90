import { expect } from 'chai'
import { BudgetWait } from '../lib/source/budget-wait'
import { offsetsPastControlBatch } from '../lib/source/control-batches'
import type { KafkaConsumerLike, TopicPartitionOffsetLike } from '../lib/client/consumer'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'
import { refuseSeeks } from '../lib/source/refuse-seeks'

// The three small pieces the source's session delegates to. They are also covered through the session in the
// fake-consumer specs and against the real broker (back-pressure, transactions, seeks); here each on its own.
describe('session parts', () => {
  describe('offsetsPastControlBatch', () => {
    const controlOnly = (lastOffset: string) => ({ topic: 't', partition: 0, batchSize: 0, lastOffset })

    function owned(): { epochs: PartitionEpochs; tracker: OffsetTracker; epoch: number } {
      const epochs = new PartitionEpochs()
      epochs.assign({ t: [0] })
      return { epochs, tracker: new OffsetTracker(), epoch: epochs.epochOf('t', 0)! }
    }

    it('leaves a batch with records, and a partition not owned, to others', () => {
      const { epochs, tracker } = owned()
      expect(offsetsPastControlBatch({ ...controlOnly('9'), batchSize: 3 }, epochs, tracker)).to.deep.equal([])
      expect(offsetsPastControlBatch({ ...controlOnly('9'), partition: 1 }, epochs, tracker)).to.deep.equal([])
    })

    it('commits past markers met before any record of the epoch', () => {
      const { epochs, tracker, epoch } = owned()
      expect(offsetsPastControlBatch(controlOnly('8'), epochs, tracker)).to.deep.equal([{ topic: 't', partition: 0, offset: '9', epoch }])
    })

    it("takes a markers-only batch's high watermark for the partition's stats (eachBatch did not run)", () => {
      const { epochs, tracker } = owned()
      epochs.lane('t', 0).highWatermark = '5'
      offsetsPastControlBatch({ ...controlOnly('8'), highWatermark: '9' }, epochs, tracker)
      expect(epochs.highWatermarkOf('t', 0)).to.equal('9')
      // Without one (another client), the last known figure stays.
      offsetsPastControlBatch(controlOnly('9'), epochs, tracker)
      expect(epochs.highWatermarkOf('t', 0)).to.equal('9')
      // Mutation caught: dropping the assignment leaves '5'.
    })

    it('never commits past markers while a record before them is unfinished', () => {
      const { epochs, tracker, epoch } = owned()
      const lane = epochs.lane('t', 0)
      const records = ['5', '6'].map((offset) => ({ topic: 't', partition: 0, offset, seq: lane.nextSeq++, epoch }))
      for (const r of records) tracker.deliver(r, 0)
      tracker.finish(records[0]!)
      // Markers at 7-8: the commit stops at the unfinished 6 ...
      expect(offsetsPastControlBatch(controlOnly('8'), epochs, tracker)).to.deep.equal([{ topic: 't', partition: 0, offset: '6', epoch }])
      // ... and passes them once it is finished.
      tracker.finish(records[1]!)
      expect(tracker.committable()).to.deep.equal([{ topic: 't', partition: 0, offset: '9', epoch }])
    })
  })

  describe('BudgetWait', () => {
    it('heartbeats while hold() stays true, and returns once it is false and the waiters woken', async () => {
      const budget = new BudgetWait(1)
      let heartbeats = 0
      let hold = true
      const waiting = budget.wait(async () => {
        heartbeats++
        if (heartbeats === 3) {
          hold = false
          budget.wake()
        }
      }, () => hold)
      expect(await waiting).to.equal(undefined)
      expect(heartbeats).to.equal(3)
    })

    it('returns the error of a failed heartbeat (the group is rebalancing), and returns at once when not held', async () => {
      const rebalancing = new Error('rebalancing')
      expect(await new BudgetWait(1).wait(async () => Promise.reject(rebalancing), () => true)).to.deep.equal({ error: rebalancing })
      let heartbeats = 0
      expect(await new BudgetWait(1).wait(async () => void heartbeats++, () => false)).to.equal(undefined)
      expect(heartbeats).to.equal(0)
    })

    it('wakes a waiter at once rather than at its next heartbeat, with no heartbeat before it returns', async () => {
      const budget = new BudgetWait(60_000) // a heartbeat interval the test would time out on
      let hold = true
      let heartbeats = 0
      const waiting = budget.wait(async () => void heartbeats++, () => hold)
      hold = false
      budget.wake()
      expect(await waiting).to.equal(undefined)
      expect(heartbeats).to.equal(0)
    })
  })

  describe('refuseSeeks', () => {
    it('makes consumer.seek throw a clear error until restored, then puts the original back', () => {
      const seeks: TopicPartitionOffsetLike[] = []
      const consumer = { seek: (target: TopicPartitionOffsetLike) => void seeks.push(target) } as unknown as KafkaConsumerLike
      const original = consumer.seek
      const restore = refuseSeeks(consumer)
      expect(() => consumer.seek!({ topic: 't', partition: 0, offset: '5' })).to.throw(/consumer\.seek\(t\[0\] to 5\) is not supported/)
      expect(seeks).to.deep.equal([])
      restore()
      expect(consumer.seek).to.equal(original)
      consumer.seek!({ topic: 't', partition: 0, offset: '5' })
      expect(seeks).to.have.length(1)
    })

    it('does nothing to a consumer without seek', () => {
      const consumer = {} as KafkaConsumerLike
      refuseSeeks(consumer)()
      expect(consumer.seek).to.equal(undefined)
    })
  })
})
