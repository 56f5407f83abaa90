// Integration test 1: the whole pipeline on a real broker. 100,000 keyed records in 12 partitions go
// through fromKafka (on kafkajs, and on @platformatic/kafka with KIP-848) -> groupByKeyConcat(recordKey) -> orderedMerge -> commitOffsets, with async work of a
// random 0-3 ms each. Checked: every record processed, per-key order never violated (no overlap, no record
// of a key started before the previous one finished), partition order of orderedMerge's output, no commit
// ever sent beyond a record whose work had not finished, and at the end the group's committed offsets (read
// back from the broker) equal the end offsets: zero lag. No assertion is on a duration.
import { expect } from 'chai'
import { tap } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { eachClient } from './fixtures/each-client'
import { suiteClients } from './fixtures/clients'
import { keyedTopic } from './fixtures/keyed-topic'
import { runToEnd } from './fixtures/run-to-end'
import { CommitAudit, committedOffsetsOf, endOffsetsOf, KeyOrderCheck, pairs, sequenceOf, sleep } from './fixtures/source-harness'

const RECORDS = 100_000
const PARTITIONS = 12
const KEYS = 1_000

eachClient('integration: end to end', (client) => {
  const clients = suiteClients('e2e', {})

  it(`processes ${RECORDS} records of ${KEYS} keys in key order and commits exactly the end offsets`, async function () {
    this.timeout(240_000)
    const { topic, groupId, perKey } = await keyedTopic(clients.producer, 'e2e', PARTITIONS, { count: RECORDS, keys: KEYS })
    const ends = await endOffsetsOf(clients.admin, topic)
    expect([...ends.values()].reduce((a, b) => a + b, 0)).to.equal(RECORDS)

    const audit = new CommitAudit()
    const order = new KeyOrderCheck()
    const consumer = client.consumer(groupId, { maxWaitTimeInMs: 250 })
    const source = fromKafka(audit.wrap(consumer), { topics: [topic], fromBeginning: true, maxInFlight: 5_000 })
    const outputOrder: string[] = []
    const lastSeq = new Map<string, number>()
    let processed = 0
    let maxInFlight = 0
    let failure: unknown

    const subscription = source
      .pipe(
        tap(() => (maxInFlight = Math.max(maxInFlight, source.tracker.inFlight))),
        groupByKeyConcat(
          recordKey,
          async (r: SourceRecord<Buffer | null, Buffer | null>) => {
            const { key, n } = sequenceOf(r.value as Buffer)
            order.started(key, n)
            await sleep(Math.floor(Math.random() * 4))
            order.finished(key, n)
            audit.finished(r.partition, Number(r.offset))
            return n
          },
          { concurrency: 256, skip: (r) => source.isStale(r) },
        ),
        orderedMerge(),
        tap(({ item }) => {
          // orderedMerge's promise: per partition (and epoch), results come out in delivery order.
          const lane = `${item.partition}/${item.epoch}`
          const expected = (lastSeq.get(lane) ?? -1) + 1
          if (item.seq !== expected && outputOrder.length < 10) outputOrder.push(`${lane}: seq ${item.seq} after ${expected - 1}`)
          lastSeq.set(lane, item.seq)
          processed++
        }),
        commitOffsets(source, { interval: 200 }),
      )
      .subscribe({ error: (e) => (failure = e) })

    await runToEnd(source, subscription, () => processed >= RECORDS, 'every record processed', () => failure)
    expect(failure).to.equal(undefined)
    expect(order.violations).to.deep.equal([])
    expect(outputOrder).to.deep.equal([])
    expect(audit.violations).to.deep.equal([])
    expect(order.finishedPerKey()).to.deep.equal(perKey) // every record of every key processed
    expect(maxInFlight).to.be.at.most(5_000)
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal(pairs(ends))
    console.log(`      ${audit.sent.length} commits, ${order.redeliveries} re-deliveries, max in flight ${maxInFlight}`)
  })
})
