// Integration: the options renamed in 0.2 are wired end to end, on a real broker, with kafkajs's DEFAULT
// consumer options (no shortened maxWaitTimeInMs or sessionTimeout). fromKafka's budgetHeartbeatInterval with
// a small maxInFlight (so batches wait for budget), publish's linger and maxBatchSize (every sendBatch is
// checked to hold at most maxBatchSize messages), commitOffsets' maxUncommitted with an interval far beyond the
// test (so only maxUncommitted can commit: if the option were ignored its default, 10,000, would never be
// reached and the commits would never come), and stuckRecords' stuckAfter. Checked: the group ends committed at
// the end offsets, every output was written, no batch was over the bound.
import { expect } from 'chai'
import { of } from 'rxjs'
import { commitOffsets, drop, forward, fromKafka, isDecodeFailure, groupByKeyConcat, orderedMerge, publish, recordKey, stuckRecords, type KafkaProducerLike } from '../../index'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { committedOffsetsOf, endOffsetsOf, pairs, produceKeyedSequence, readTopic, until } from './fixtures/source-harness'

const RECORDS = 600
const PARTITIONS = 2
const MAX_BATCH = 7

describe('integration: renamed options, kafkajs default consumer options', function () {
  const clients = suiteClients('renamed-options')

  it(`runs ${RECORDS} records with budgetHeartbeatInterval, linger, maxBatchSize, maxUncommitted and stuckAfter`, async function () {
    this.timeout(180_000)
    const input = await createTopic('renamed-in', PARTITIONS)
    const output = await createTopic('renamed-out', PARTITIONS)
    await produceKeyedSequence(clients.producer, input, { count: RECORDS, keys: 20, chunk: 300 })
    const ends = await endOffsetsOf(clients.admin, input)

    const batchSizes: number[] = []
    const counting: KafkaProducerLike = {
      sendBatch: async (batch) => {
        batchSizes.push(batch.topicMessages.reduce((n, t) => n + t.messages.length, 0))
        return clients.producer.sendBatch(batch)
      },
    }
    const groupId = uniqueName('renamed-group')
    const source = fromKafka(testKafka('renamed-options').consumer({ groupId }), {
      topics: [input], fromBeginning: true, maxInFlight: 200, budgetHeartbeatInterval: 200,
    })
    const committed = new Map<number, number>()
    const reasons = new Set<string>()
    let failure: unknown
    const stuck = stuckRecords(source, { stuckAfter: 60_000 }).subscribe({ error: (e) => (failure = e) })
    const subscription = source
      .pipe(
        groupByKeyConcat(recordKey, (r) => of(isDecodeFailure(r) ? drop('undecodable') : forward({ key: r.key, value: r.value })), { concurrency: 16, skip: source.isStale }),
        orderedMerge(),
        publish(counting, { topic: output, linger: 2, maxBatchSize: MAX_BATCH }),
        commitOffsets(source, { interval: 600_000, maxUncommitted: 10 }),
      )
      .subscribe({
        next: (c) => {
          reasons.add(c.reason)
          for (const o of c.offsets) committed.set(o.partition, Number(o.offset))
        },
        error: (e) => (failure = e),
      })
    try {
      // Every record published and committed by maxUncommitted at least once: the last few (fewer than
      // maxUncommitted since the last commit) may wait for the final commit on unsubscribe. Sent is not yet
      // acknowledged: nothing left in flight, or unsubscribing drops the last send and its records' commit.
      await until(() => failure !== undefined || (batchSizes.reduce((a, b) => a + b, 0) === RECORDS && reasons.has('batch') && source.tracker.inFlight === 0),
        'every record published, and a commit by maxUncommitted')
        .catch((e: Error) => {
          throw new Error(`${e.message}: committed ${JSON.stringify(pairs(committed))}, ends ${JSON.stringify(pairs(ends))}, batches ${batchSizes.length}`)
        })
    } finally {
      stuck.unsubscribe()
      subscription.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)
    expect([...reasons]).to.not.include('interval') // the 600 s interval never fired: maxUncommitted committed
    expect(batchSizes.length).to.be.greaterThan(0)
    expect(Math.max(...batchSizes)).to.be.at.most(MAX_BATCH)
    expect(batchSizes.reduce((a, b) => a + b, 0)).to.equal(RECORDS)
    const written = await readTopic(testKafka('renamed-read').consumer({ groupId: uniqueName('renamed-read') }), output, RECORDS)
    expect(written).to.have.length(RECORDS)
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, input))).to.deep.equal(pairs(ends))
  })
})
