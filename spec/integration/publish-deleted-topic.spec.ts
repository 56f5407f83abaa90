// Integration (issue 15.6): the output topic is deleted mid-stream. With a producer whose own retries are
// short, publish's error names the stage and the topic (PublishSendError, kafkajs's error as its cause),
// publish does not retry what kafkajs already gave up on (one sendBatch for the failed batch), and nothing
// whose output was not written is committed.
import { expect } from 'chai'
import { of } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { publish } from '../../lib/publish/publish'
import { PublishSendError } from '../../lib/publish/send-error'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { forward, type OutputMessage } from '../../operators/result'
import type { KafkaProducerLike } from '../../lib/client/producer'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { connectClients } from './fixtures/clients'
import { committedOffsetsOf, pairs, until } from './fixtures/source-harness'

type In = SourceRecord<Buffer | null, Buffer | null>

describe('integration: publish to a deleted topic', function () {
  const cleanup: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined)
  })

  it('errors naming publish and the topic, without multiplying kafkajs retries, and holds the commit', async function () {
    this.timeout(120_000)
    // A short bound: kafkajs's own retries of one send end within a few seconds.
    const { admin, producer } = await connectClients(testKafka(uniqueName('deleted')), cleanup, {
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    })
    const input = await createTopic('deleted-in', 1)
    const output = await createTopic('deleted-out', 1)
    await producer.send({ topic: input, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `a${i}` })) })
    let sends = 0
    let failedSends = 0
    const counting: KafkaProducerLike = {
      sendBatch: async (batch) => {
        sends++
        try {
          return await producer.sendBatch(batch as Parameters<typeof producer.sendBatch>[0])
        } catch (e) {
          failedSends++
          throw e
        }
      },
    }
    const groupId = uniqueName('deleted-group')
    const source = fromKafka(testKafka('deleted').consumer({ groupId }), { topics: [input], fromBeginning: true })
    let failure: unknown
    let committed = -1
    source.pipe(
      groupByKeyConcat(recordKey, (r: In) => of(forward<OutputMessage>({ key: Buffer.isBuffer(r.key) ? r.key : null, value: r.value }))),
      orderedMerge(),
      publish(counting, { topic: output, maxAttempts: 10, backoff: () => 50 }),
      commitOffsets(source, { interval: 100 }),
    ).subscribe({ next: (c) => { for (const o of c.offsets) committed = Number(o.offset) }, error: (e) => (failure = e) })
    await until(() => committed === 5 || failure !== undefined, 'the first five records to be committed')
    expect(failure).to.equal(undefined)
    await admin.deleteTopics({ topics: [output] })
    const sendsBefore = sends
    await producer.send({ topic: input, messages: Array.from({ length: 3 }, (_, i) => ({ key: `k${i}`, value: `b${i}` })) })
    await until(() => failure !== undefined, 'publish to fail')
    await source.closed()
    expect(failure).to.be.instanceOf(PublishSendError)
    const error = failure as PublishSendError
    expect(error.message).to.contain('publish:').and.contain(output)
    expect(error.topics).to.deep.equal([output])
    expect((error.cause as Error).name).to.match(/^KafkaJS/)
    // kafkajs's error after its own retries is final: publish made one call for the failed batch.
    expect(failedSends).to.equal(1)
    expect(sends - sendsBefore).to.equal(1)
    expect(pairs(await committedOffsetsOf(admin, groupId, input))).to.deep.equal([[0, 5]])
  })
})
