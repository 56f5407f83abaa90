// The source on a real broker, one behaviour at a time: transaction markers and aborted records leave no
// lag (in a batch, alone after records, and alone at the start of an epoch); the final commit of an
// unsubscribe goes out before the consumer stops and a resubscription (with a consumer factory) reads on
// from there; one subscription per consumer; a consumer that cannot connect errors the stream.
import { expect } from 'chai'
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs'
import { filter, Subject, tap, type Subscription } from 'rxjs'
import { fromKafka, type KafkaSource, type SourceRecord } from '../../lib/source/from-kafka'
import { commitOffsets } from '../../operators/commit-offsets'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { committedOffsetsOf, endOffsetsOf, pairs, until } from './fixtures/source-harness'
import { cleanupAfterEach } from './fixtures/cleanup'
import { closing } from './fixtures/run-to-end'

type Rec = SourceRecord<Buffer | null, Buffer | null>

/** Subscribes `source` so that every record is finished (and committed within `interval`) as it comes. */
function finishAll(source: KafkaSource<Buffer | null, Buffer | null>, got: Rec[], interval = 50): Subscription {
  return source.pipe(tap((r) => got.push(r)), commitOffsets(source, { interval })).subscribe()
}

describe('integration: fromKafka', function () {
  let kafka: Kafka
  let admin: Admin
  let producer: Producer
  const cleanup = cleanupAfterEach()

  before(async () => {
    kafka = testKafka('source-setup')
    admin = kafka.admin()
    producer = kafka.producer()
    await Promise.all([admin.connect(), producer.connect()])
  })
  after(async () => {
    await Promise.all([admin?.disconnect(), producer?.disconnect()])
  })

  async function transaction(topic: string, values: string[], outcome: 'commit' | 'abort'): Promise<void> {
    const tx = kafka.producer({ transactionalId: uniqueName('tx'), idempotent: true, maxInFlightRequests: 1 })
    await tx.connect()
    try {
      const t = await tx.transaction()
      await t.send({ topic, messages: values.map((value) => ({ partition: 0, key: 'k', value })) })
      await (outcome === 'commit' ? t.commit() : t.abort())
    } finally {
      await tx.disconnect()
    }
  }

  it('skips aborted records and commits past transaction markers: zero lag', async function () {
    this.timeout(90_000)
    const topic = await createTopic('source-tx', 1)
    const groupId = uniqueName('source-tx-group')
    await transaction(topic, ['a', 'b', 'c'], 'commit') // offsets 0-2, commit marker 3
    const source = fromKafka(testKafka('source-tx').consumer({ groupId, maxWaitTimeInMs: 100 }), { topics: [topic], fromBeginning: true })
    const got: Rec[] = []
    const subscription = finishAll(source, got)
    cleanup.push(closing(source, subscription))
    await until(async () => (await committedOffsetsOf(admin, groupId, topic)).get(0) === 4, 'a commit past the first marker')
    // Fetched alone once the consumer caught up: aborted records 4-5 and their marker 6 make a batch with no
    // message, which kafkajs resolves itself (no eachBatch); the commit still moves past it.
    await transaction(topic, ['x', 'y'], 'abort')
    await until(async () => (await committedOffsetsOf(admin, groupId, topic)).get(0) === 7, 'a commit past the aborted transaction')
    // That batch's high watermark reached the stats too (eachBatch, which records it otherwise, never ran).
    expect(source.highWatermark(topic, 0)).to.equal('7')
    await transaction(topic, ['d', 'e'], 'commit') // offsets 7-8, marker 9
    await until(async () => (await committedOffsetsOf(admin, groupId, topic)).get(0) === 10, 'a commit past the last marker')
    expect(got.map((r) => [r.offset, r.value?.toString()])).to.deep.equal([['0', 'a'], ['1', 'b'], ['2', 'c'], ['7', 'd'], ['8', 'e']])
    expect(pairs(await endOffsetsOf(admin, topic))).to.deep.equal([[0, 10]])
  })

  it('commits past markers met at the start of an epoch, before any record', async function () {
    this.timeout(90_000)
    const topic = await createTopic('source-tx-start', 1)
    const groupId = uniqueName('source-tx-start-group')
    await transaction(topic, ['a', 'b'], 'commit') // offsets 0-1, marker 2
    // The group already processed the records: its committed offset points at the marker.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] })
    const source = fromKafka(testKafka('source-tx-start').consumer({ groupId, maxWaitTimeInMs: 100 }), { topics: [topic] })
    const got: Rec[] = []
    const subscription = finishAll(source, got)
    cleanup.push(closing(source, subscription))
    await until(async () => (await committedOffsetsOf(admin, groupId, topic)).get(0) === 3, 'a commit past the marker')
    expect(got).to.deep.equal([])
  })

  it('commits what finished before stopping on unsubscribe; a resubscription reads on from there', async function () {
    this.timeout(90_000)
    const topic = await createTopic('source-resubscribe', 1)
    await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: String(i) })) })
    const groupId = uniqueName('source-resubscribe-group')
    // kafkajs consumers cannot connect again after disconnect(): a factory gives each subscription its own.
    const source = fromKafka(() => testKafka('source-resubscribe').consumer({ groupId, maxWaitTimeInMs: 100 }), {
      topics: [topic],
      fromBeginning: true,
    })

    // First subscription: only offsets below 30 finish; the interval is long, so only the final commit goes.
    const finished = new Subject<Rec>()
    let delivered = 0
    const first = source
      .pipe(
        tap((r) => {
          delivered++
          if (Number(r.offset) < 30) finished.next(r)
        }),
        filter(() => false),
      )
      .subscribe()
    const commits = finished.pipe(commitOffsets(source, { interval: 600_000 })).subscribe()
    await until(() => delivered === 100, 'the first subscription to get every record')
    first.unsubscribe()
    commits.unsubscribe()
    await source.closed()
    expect(pairs(await committedOffsetsOf(admin, groupId, topic))).to.deep.equal([[0, 30]])

    // Second subscription of the same source: a new consumer, a new tracker, from the committed offset on.
    const got: Rec[] = []
    const second = finishAll(source, got)
    cleanup.push(closing(source, second))
    await until(async () => (await committedOffsetsOf(admin, groupId, topic)).get(0) === 100, 'the end offset committed')
    expect(got.map((r) => Number(r.offset))).to.deep.equal(Array.from({ length: 70 }, (_, i) => 30 + i))
  })

  it('refuses a second subscription to the same consumer', async function () {
    this.timeout(60_000)
    const topic = await createTopic('source-twice', 1)
    const consumer = testKafka('source-twice').consumer({ groupId: uniqueName('source-twice-group'), maxWaitTimeInMs: 100 })
    const source = fromKafka(consumer, { topics: [topic] })
    const first = source.subscribe()
    cleanup.push(closing(source, first))
    const errors: unknown[] = []
    fromKafka(consumer, { topics: [topic] }).subscribe({ error: (e) => errors.push(e) })
    expect(String(errors[0])).to.match(/already has a subscriber/)
    expect(first.closed).to.equal(false)
  })

  it('errors the stream when the consumer cannot connect', async function () {
    this.timeout(60_000)
    const unreachable = new Kafka({
      brokers: ['127.0.0.1:1'],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 300,
      retry: { retries: 0 },
    })
    const source = fromKafka(unreachable.consumer({ groupId: uniqueName('nowhere') }), { topics: ['t'] })
    const error = await new Promise<unknown>((resolve) => source.subscribe({ error: resolve, complete: () => resolve(undefined) }))
    expect(String(error)).to.match(/ECONNREFUSED|Connection error|connect/i)
    await source.closed()
  })
  it('refuses consumer.seek while subscribed, with a clear error (no record delivered behind the tracker)', async function () {
    this.timeout(90_000)
    const topic = await createTopic('source-seek', 1)
    await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: 'k', value: String(i) })) })
    const consumer = testKafka('source-seek').consumer({ groupId: uniqueName('source-seek-group'), maxWaitTimeInMs: 100 })
    const source = fromKafka(consumer, { topics: [topic], fromBeginning: true })
    const got: Rec[] = []
    // Seeks synchronously from inside the pipeline, while the batch holding offsets 0-39 is being delivered.
    const seekAt20 = tap((r: Rec) => {
      if (r.offset === '20') consumer.seek({ topic, partition: 0, offset: '5' })
    })
    const error = await new Promise<unknown>((resolve) => {
      source.pipe(tap((r) => got.push(r)), seekAt20, commitOffsets(source, { interval: 50 })).subscribe({ error: resolve, complete: () => resolve(undefined) })
    })
    await source.closed()
    expect(String(error)).to.match(/consumer\.seek\(.*\[0\] to 5\) is not supported while the source runs/)
    expect(got.map((r) => Number(r.offset))).to.deep.equal(Array.from({ length: 21 }, (_, i) => i))
    // The consumer's own seek is back once the subscription is over.
    expect(() => consumer.seek({ topic, partition: 0, offset: '5' })).to.throw(/not connected|not running|KafkaJS|Consumer/i)
  })

})
