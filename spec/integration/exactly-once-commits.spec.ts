// Integration: with publishTransactional every commit of the group is made by a fenced transactional
// producer, never by the consumer. Found by CI: a new owner's start-position commit (sent through the
// consumer with the offset it fetched at assignment) landed after a transaction of the previous owner that
// was still committing when the partition moved, rewound the group, and a read_committed reader saw those
// 50 records' outputs twice. kafkajs's DEFAULT consumer options (reset `latest`, maxWaitTimeInMs 5 s).
// Mutations caught: the Session ignoring its delegate (start commits through the consumer again): both
// tests see COMMIT_OFFSETS events; no start commit at all: the first test finds the group without a commit
// (-1) and the next member starts at the log end.
import { expect } from 'chai'
import { NEVER, of, type Observable, type Subscription } from 'rxjs'
import type { Consumer, Kafka } from 'kafkajs'
import { fromKafka, type KafkaSource, type SourceRecord } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { publishTransactional } from '../../lib/transactions/publish-transactional'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { forward, type OutputMessage, type Result } from '../../operators/result'
import { createTopic, testBrokers, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { duplicatesOf } from './fixtures/eos-harness'
import { readCommittedJvm } from './fixtures/java-reader'
import { committedOffsetsOf, endOffsetsOf, pairs, until } from './fixtures/source-harness'

type Rec = SourceRecord<Buffer | null, Buffer | null>

/** A member of the group: fromKafka -> groupByKeyConcat(work) -> orderedMerge -> publishTransactional. */
function member(kafka: Kafka, groupId: string, topic: string, outTopic: string, admin: Parameters<typeof publishTransactional>[1]['admin'], work: (r: Rec) => Observable<Result<OutputMessage>>) {
  const consumer: Consumer = kafka.consumer({ groupId }) // kafkajs defaults
  let plainCommits = 0
  consumer.on(consumer.events.COMMIT_OFFSETS, () => void plainCommits++)
  const source: KafkaSource<Buffer | null, Buffer | null> = fromKafka(consumer, { topics: [topic] })
  const sub: Subscription = source.pipe(
    groupByKeyConcat(recordKey, work, { skip: source.isStale }),
    orderedMerge(),
    publishTransactional(source, {
      consumerGroupId: groupId, topic: outTopic, admin,
      producer: (transactionalId) => kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }),
    }),
  ).subscribe({ error: (error: unknown) => console.error('member failed', error) })
  running.push({ sub, source })
  return { consumer, source, sub, plainCommits: () => plainCommits }
}

const firstFetch = (consumer: Consumer): Promise<void> =>
  new Promise((resolve) => {
    const remove = consumer.on(consumer.events.FETCH, () => {
      remove()
      resolve()
    })
  })

const keyed = (from: number, count: number): { key: string; value: string }[] =>
  Array.from({ length: count }, (_, i) => ({ key: `k${(from + i) % 61}`, value: String(from + i) }))

// Members still running when a test failed: stopped, so that mocha can exit.
const running: { sub: Subscription; source: KafkaSource<Buffer | null, Buffer | null> }[] = []

describe('integration: exactly-once commits are all transactional', function () {
  const clients = suiteClients('eos-commits')
  afterEach(async () => {
    for (const m of running.splice(0)) m.sub.unsubscribe()
  })

  it('a new group (reset latest) whose first record is stuck: its start position is committed in a transaction, none by the consumer', async function () {
    this.timeout(180_000)
    const topic = await createTopic('eos-start', 1)
    const outTopic = await createTopic('eos-start-out', 1)
    const groupId = uniqueName('eos-start-group')
    let delivered = 0
    const first = member(testKafka('eos-start-first'), groupId, topic, outTopic, clients.admin, (r) => {
      delivered++
      return r.key?.toString() === 'stuck' ? NEVER : of(forward({ key: null, value: `${r.offset}` }))
    })
    await firstFetch(first.consumer)
    await clients.producer.send({ topic, messages: [{ key: 'stuck', value: '0' }, ...keyed(1, 5)] })
    await until(() => delivered === 6, 'the first 6 records delivered')
    first.sub.unsubscribe()
    await first.source.closed()
    // Nothing finished in order: the group's commit is the start position, made by a transaction.
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal([[0, 0]])
    expect(first.plainCommits(), 'commits sent by the consumer').to.equal(0)

    // The next member starts at the stuck record.
    const next = fromKafka(testKafka('eos-start-next').consumer({ groupId }), { topics: [topic] })
    const seen = new Set<string>()
    const nextSub = next.subscribe((r) => seen.add(r.offset))
    try {
      await until(() => seen.size === 6, `the next member to read offsets 0..5 (read ${[...seen].join(',')})`, 60_000)
    } finally {
      nextSub.unsubscribe()
      await next.closed()
    }
  })

  it('two members and a rebalance while records flow: the group ends at the end offsets, each output once, no commit by a consumer', async function () {
    this.timeout(300_000)
    const topic = await createTopic('eos-rebalance', 4)
    const outTopic = await createTopic('eos-rebalance-out', 2)
    const groupId = uniqueName('eos-rebalance-group')
    const work = (r: Rec): Observable<Result<OutputMessage>> => of(forward({ key: null, value: `${r.partition}:${r.offset}` }))
    const a = member(testKafka('eos-rebalance-a'), groupId, topic, outTopic, clients.admin, work)
    await firstFetch(a.consumer) // reset `latest` resolved: what is produced from now on is read
    await clients.producer.send({ topic, messages: keyed(0, 400) })
    await until(async () => [...(await committedOffsetsOf(clients.admin, groupId, topic)).values()].some((o) => o > 0), 'a first transaction of member a')
    const b = member(testKafka('eos-rebalance-b'), groupId, topic, outTopic, clients.admin, work)
    for (let i = 1; i <= 4; i++) await clients.producer.send({ topic, messages: keyed(400 * i, 400) })
    const ends = await endOffsetsOf(clients.admin, topic)
    let committed: [number, number][] = []
    await until(async () => {
      committed = pairs(await committedOffsetsOf(clients.admin, groupId, topic))
      // An empty partition has no commit (-1): nothing was ever delivered there.
      return JSON.stringify(committed.map(([p, o]) => [p, Math.max(o, 0)])) === JSON.stringify(pairs(ends))
    }, 'the group to commit the end offsets', 180_000).catch((error: Error) => {
      throw new Error(`${error.message}: committed ${JSON.stringify(committed)}, ends ${JSON.stringify(pairs(ends))}`)
    })
    for (const m of [a, b]) m.sub.unsubscribe()
    await Promise.all([a.source.closed(), b.source.closed()])
    expect(a.plainCommits() + b.plainCommits(), 'commits sent by the consumers').to.equal(0)
    const outputs = await readCommittedJvm(testBrokers().join(','), outTopic, 2_000)
    expect(duplicatesOf(outputs), 'outputs seen twice by a read_committed reader').to.deep.equal([])
    expect(outputs).to.have.length(2_000)
  })
})
