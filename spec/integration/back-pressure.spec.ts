// Integration test 2: back-pressure on a real broker. With a small `maxInFlight`, the records delivered and
// not finished never exceed it (fetching pauses, then resumes) and the run still completes with zero lag;
// and while fetching is paused behind a record slower than the session timeout, heartbeats keep the member
// in the group (no rebalance). No assertion is on a duration. Runs on every client (eachClient): kafkajs,
// @platformatic/kafka with KIP-848 and with the classic protocol.
import { expect } from 'chai'
import type { Consumer } from 'kafkajs'
import type { KafkaConsumerLike } from '../../lib/client/consumer'
import { tap } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { eachClient } from './fixtures/each-client'
import { suiteClients } from './fixtures/clients'
import { expectCommittedAtEnd, keyedTopic } from './fixtures/keyed-topic'
import { runToEnd } from './fixtures/run-to-end'
import { CommitAudit, committedOffsetsOf, KeyOrderCheck, pairs, sequenceOf, sleep, soloShare } from './fixtures/source-harness'

type Rec = SourceRecord<Buffer | null, Buffer | null>

/** Runs the full pipeline until every record is processed; returns what it observed. */
async function runPipeline(
  consumer: KafkaConsumerLike,
  topic: string,
  total: number,
  options: { maxInFlight: number; partitions: number; concurrency: number; work: (r: Rec) => Promise<void> },
): Promise<{ maxSeen: number; timesFull: number; order: KeyOrderCheck; audit: CommitAudit; epochs: Set<string> }> {
  const audit = new CommitAudit()
  const order = new KeyOrderCheck()
  const source = fromKafka(audit.wrap(consumer), { topics: [topic], fromBeginning: true, maxInFlight: options.maxInFlight })
  // Counted outside the library too: delivered by the source minus handed to commitOffsets (which finishes).
  let inFlight = 0
  let maxSeen = 0
  let timesFull = 0
  let processed = 0
  let failure: unknown
  const epochs = new Set<string>() // partition/epoch of every record delivered: a rebalance that took a partition shows
  const observe = (): void => {
    const n = Math.max(inFlight, source.tracker.inFlight)
    if (n > maxSeen) maxSeen = n
  }
  const subscription = source
    .pipe(
      tap((r) => {
        epochs.add(`${r.partition}/${r.epoch}`)
        inFlight++
        observe()
        // At a partition's limit under the fair budget (soloShare: maxInFlight itself for one partition).
        if (inFlight === soloShare(options.maxInFlight, options.partitions)) timesFull++
      }),
      groupByKeyConcat(
        recordKey,
        async (r: Rec) => {
          const { key, n } = sequenceOf(r.value as Buffer)
          order.started(key, n)
          await options.work(r)
          order.finished(key, n)
          audit.finished(r.partition, Number(r.offset))
        },
        { concurrency: options.concurrency, skip: (r) => source.isStale(r) },
      ),
      orderedMerge(),
      tap(() => {
        observe()
        inFlight--
        processed++
      }),
      commitOffsets(source, { interval: 100 }),
    )
    .subscribe({ error: (e) => (failure = e) })
  await runToEnd(source, subscription, () => processed >= total, 'every record processed', () => failure)
  expect(failure).to.equal(undefined)
  return { maxSeen, timesFull, order, audit, epochs }
}

eachClient('integration: back-pressure', (client) => {
  const clients = suiteClients('back-pressure', {})

  it('never has more than maxInFlight records in flight, and completes with zero lag', async function () {
    this.timeout(180_000)
    const total = 5_000
    const { topic, groupId, perKey } = await keyedTopic(clients.producer, 'back-pressure', 4, { count: total, keys: 50 })
    const consumer = client.consumer(groupId, { maxWaitTimeInMs: 250 })
    const { maxSeen, timesFull, order, audit } = await runPipeline(consumer, topic, total, {
      maxInFlight: 50,
      partitions: 4,
      concurrency: 16,
      work: () => sleep(Math.floor(Math.random() * 4)),
    })
    expect(maxSeen).to.be.at.most(50)
    expect(timesFull, 'the budget was used up at least once (fetching paused)').to.be.greaterThan(0)
    expect(order.violations).to.deep.equal([])
    expect(audit.violations).to.deep.equal([])
    expect(order.finishedPerKey()).to.deep.equal(perKey)
    await expectCommittedAtEnd(clients.admin, groupId, topic)
  })

  it('keeps heartbeating while paused behind a record slower than the session timeout (no rebalance)', async function () {
    this.timeout(120_000)
    const total = 300
    const { topic, groupId } = await keyedTopic(clients.producer, 'back-pressure-slow', 1, { count: total, keys: 20 })
    const sessionTimeout = 3_000
    // KIP-848 ignores a member's session timeout (the broker's group.consumer.session.timeout.ms, 45 s by
    // default, rules): there the test checks the same without a short session.
    const consumer = client.consumer(groupId, { sessionTimeout, heartbeatInterval: 500, maxWaitTimeInMs: 250 })
    const joins: number[] = []
    let rebalances = 0
    if (client.name === 'kafkajs') {
      // kafkajs names its group events; @platformatic/kafka's show in the epochs below.
      const kafkajs = consumer as Consumer
      kafkajs.on(kafkajs.events.GROUP_JOIN, ({ payload }) => joins.push(payload.memberAssignment[topic]?.length ?? 0))
      kafkajs.on(kafkajs.events.REBALANCING, () => rebalances++)
    }
    const { maxSeen, timesFull, order, epochs } = await runPipeline(consumer, topic, total, {
      maxInFlight: 10,
      partitions: 1,
      concurrency: 4,
      // Offset 0 outlives the session timeout; everything behind it in the partition waits in orderedMerge,
      // so the budget fills up and fetching stays paused until it finishes.
      work: (r) => sleep(r.offset === '0' ? sessionTimeout + 2_000 : Math.floor(Math.random() * 3)),
    })
    expect(timesFull).to.be.greaterThan(0)
    expect(maxSeen).to.be.at.most(10)
    expect(order.violations).to.deep.equal([])
    // A member dropped from the group loses its partition: it comes back in a new epoch.
    expect([...epochs], 'partition 0 delivered in one epoch').to.have.length(1)
    if (client.name === 'kafkajs') {
      expect(rebalances).to.equal(0)
      expect(joins).to.deep.equal([1])
    }
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal([[0, total]])
  })
}, { classic: true })
