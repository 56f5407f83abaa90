import { expect } from 'chai'
import { KafkaCommitSink } from '../lib/source/commit-sink'
import { CommittedMaps } from '../lib/source/finished-skips'
import { checkOffsetMap } from '../lib/source/offset-map-options'
import { fromKafka } from '../lib/source/from-kafka'
import { FakeConsumer } from './fixtures/fake-consumer'
import type { TopicPartitionOffsetLike } from '../lib/client/consumer'
import type { OffsetFetchAdminLike } from '../lib/client/admin'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'
import { decodeOffsetMap, encodeOffsetMap } from '../lib/tracker/offset-map'

const origin = (offset: number, seq: number, epoch: number) => ({ topic: 't', partition: 0, offset: String(offset), seq, epoch })

describe('offset map: commit sink and read-back', () => {
  it('the sink sends each offset with its map, and an unchanged offset again when the map has news', async () => {
    const sent: TopicPartitionOffsetLike[][] = []
    const epochs = new PartitionEpochs()
    epochs.assign({ t: [0] })
    const e = epochs.epochOf('t', 0)!
    const tracker = new OffsetTracker({ mapFinished: true })
    const sink = new KafkaCommitSink({ commitOffsets: async (o) => void sent.push(o) }, epochs, {
      finishedAbove: (...a) => tracker.finishedAbove(...a),
      maxBytes: 4096,
    })
    for (let seq = 0; seq < 4; seq++) tracker.deliver(origin(10 + seq, seq, e))
    // The start position, committed before the first delivery (start-commits.ts) and reported to the tracker.
    tracker.committed([{ topic: 't', partition: 0, offset: '10', epoch: e }])
    tracker.finish(origin(12, 2, e))
    tracker.committed(await sink.commit(tracker.committable()))
    tracker.finish(origin(13, 3, e))
    tracker.committed(await sink.commit(tracker.committable()))
    expect(sent.map((c) => c.map((o) => [o.offset, decodeOffsetMap(o.metadata, o.offset)]))).to.deep.equal([
      [['10', [12, 13]]],
      [['10', [12, 14]]],
    ])
    expect(tracker.committable()).to.deep.equal([]) // nothing new: nothing offered
  })

  it('a sink without maps sends no metadata and never the same offset twice', async () => {
    const sent: TopicPartitionOffsetLike[][] = []
    const epochs = new PartitionEpochs()
    epochs.assign({ t: [0] })
    const e = epochs.epochOf('t', 0)!
    const sink = new KafkaCommitSink({ commitOffsets: async (o) => void sent.push(o) }, epochs)
    await sink.commit([{ topic: 't', partition: 0, offset: '5', epoch: e }])
    await sink.commit([{ topic: 't', partition: 0, offset: '5', epoch: e }])
    expect(sent).to.deep.equal([[{ topic: 't', partition: 0, offset: '5' }]])
  })

  it('reads maps back once per assignment; a failed fetch or a foreign map skips nothing', async () => {
    const good = encodeOffsetMap(7, [8, 10], 4096).metadata
    let calls = 0
    let fail = false
    const admin: OffsetFetchAdminLike = {
      fetchOffsets: async ({ topics }) => {
        calls++
        if (fail) throw new Error('not connected')
        return topics.map((topic) => ({
          topic,
          partitions: [
            { partition: 0, offset: '7', metadata: good },
            { partition: 1, offset: '7', metadata: '{"tool":"other"}' },
            { partition: 2, offset: '8', metadata: good }, // another offset's map
          ],
        }))
      },
    }
    const epochs = new PartitionEpochs()
    const maps = new CommittedMaps(admin, 'g')
    epochs.assign({ t: [0, 1, 2] })
    maps.assigned({ t: [0, 1, 2] }, epochs.generation)
    const skip0 = await maps.skipsFor(epochs.lane('t', 0), epochs.generation)
    expect(['7', '8', '9', '10'].map((o) => skip0?.has(o))).to.deep.equal([false, true, true, false])
    expect(await maps.skipsFor(epochs.lane('t', 1), epochs.generation)).to.equal(undefined)
    expect(await maps.skipsFor(epochs.lane('t', 2), epochs.generation)).to.equal(undefined)
    expect(calls).to.equal(1)
    fail = true
    epochs.assign({ t: [0] })
    maps.assigned({ t: [0] }, epochs.generation)
    expect(await maps.skipsFor(epochs.lane('t', 0), epochs.generation)).to.equal(undefined)
    expect(maps.failures).to.equal(1)
  })

  // Mutations seen failing (made by hand, undone): the warm() call removed from Session.start ('read before
  // the join': no call); warm() sending every topic, patterns included (the topics asked).
  it('reads once at subscribe, before the group join, so the read-back at the join finds the admin warm', async () => {
    const order: string[] = []
    const admin: OffsetFetchAdminLike = {
      fetchOffsets: async ({ topics }) => {
        order.push(`fetchOffsets ${topics.join(',')}`)
        return []
      },
    }
    const consumer = new FakeConsumer()
    const connect = consumer.connect.bind(consumer)
    consumer.connect = async () => {
      order.push('connect')
      return connect()
    }
    const subscription = fromKafka(consumer, { topics: ['t', /^other-/], offsetMap: { admin, groupId: 'g' } }).subscribe()
    await new Promise((resolve) => setImmediate(resolve))
    subscription.unsubscribe()
    expect(order.slice(0, 2), 'read before the join').to.deep.equal(['fetchOffsets t', 'connect'])
  })

  it('checks the option, naming what it received', () => {
    const admin = { fetchOffsets: async () => [] }
    expect(checkOffsetMap(undefined)).to.equal(undefined)
    expect(checkOffsetMap({ admin, groupId: 'g' })).to.deep.equal({ admin, groupId: 'g', maxBytes: 4096 })
    expect(() => checkOffsetMap({ admin, groupId: '' })).to.throw(TypeError, /offsetMap.groupId .* got ""/)
    expect(() => checkOffsetMap({ admin: {} as never, groupId: 'g' })).to.throw(TypeError, /offsetMap.admin/)
    expect(() => checkOffsetMap({ admin, groupId: 'g', maxBytes: -1 })).to.throw(RangeError, /maxBytes .* got -1/)
  })
})
