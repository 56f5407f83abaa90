// Integration (issue 15.2): a `failed` result that no stage routes is never committed past. Eight records on
// one partition, the one at offset 2 a poison that fails every try; the work writes elsewhere (no publish).
// 'fail' and an unsent 'dead-letter' both end the stream with an UnroutedFailureError naming the record, and
// the group's committed offset stays 2. With publish and a dead-letter topic the letter lands and the commit
// passes it (8). The consumer runs with kafkajs's default options (no shortened maxWaitTimeInMs).
import { expect } from 'chai'
import { defer, of, throwError, type Observable } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { publish } from '../../lib/publish/publish'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { drop, forward, type OutputMessage, type Result } from '../../operators/result'
import { withRetry } from '../../operators/with-retry'
import { UnroutedFailureError } from '../../operators/unrouted-failure'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { CommitAudit, committedOffsetsOf, pairs, readTopic, until } from './fixtures/source-harness'

type In = SourceRecord<Buffer | null, Buffer | null>

describe('integration: failed results no stage routed (no publish)', function () {
  const clients = suiteClients('unrouted')

  async function eightWithPoisonAt2(name: string): Promise<string> {
    const topic = await createTopic(name, 1)
    await clients.producer.send({
      topic, messages: Array.from({ length: 8 }, (_, i) => ({ key: `k${i % 3}`, value: i === 2 ? 'POISON' : `v${i}` })),
    })
    return topic
  }

  // Work that "writes to a database": fails every try on the poison, else nothing to produce.
  const work = (r: In): Observable<Result<OutputMessage>> => defer(() =>
    r.value?.toString() === 'POISON' ? throwError(() => new Error('poison at 2')) : of(drop('written')))

  for (const onExhausted of ['fail', 'dead-letter'] as const) {
    it(`onExhausted '${onExhausted}' without a route: the stream errors naming the record, the commit stays at 2`, async function () {
      this.timeout(120_000)
      const topic = await eightWithPoisonAt2(`unrouted-${onExhausted}`)
      const groupId = uniqueName('unrouted-group')
      const audit = new CommitAudit()
      const source = fromKafka(audit.wrap(testKafka('unrouted').consumer({ groupId })), { topics: [topic], fromBeginning: true })
      let failure: unknown
      let committed = -1
      const subscription = source.pipe(
        groupByKeyConcat(recordKey, withRetry(work, { maxAttempts: 2, backoff: () => 10, onExhausted }), { concurrency: 8 }),
        orderedMerge(),
        commitOffsets(source, { interval: 100 }),
      ).subscribe({ next: (c) => { for (const o of c.offsets) committed = Number(o.offset) }, error: (e) => (failure = e) })
      // Without the fix the commit reaches 8 and the stream runs on: stop waiting then, and fail below.
      try {
        await until(() => failure !== undefined || committed === 8, 'the stream to fail')
      } finally {
        subscription.unsubscribe()
        await source.closed()
      }
      expect(failure).to.be.instanceOf(UnroutedFailureError)
      const error = failure as UnroutedFailureError
      expect(error.record).to.deep.equal({ topic, partition: 0, offset: '2', key: Buffer.from('k2') })
      expect(error.message).to.contain(`${topic}/0@2`).and.contain('poison at 2').and.contain(onExhausted)
      expect((error.cause as Error).message).to.equal('poison at 2')
      expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal([[0, 2]])
      for (const sent of audit.sent) for (const [, o] of sent) expect(o).to.be.at.most(2)
    })
  }

  it('with publish and a dead-letter topic: the letter lands and the commit passes it', async function () {
    this.timeout(120_000)
    const topic = await eightWithPoisonAt2('unrouted-published')
    const dlt = await createTopic('unrouted-dlt', 1)
    const out = await createTopic('unrouted-out', 1)
    const groupId = uniqueName('unrouted-group')
    const source = fromKafka(testKafka('unrouted-pub').consumer({ groupId }), { topics: [topic], fromBeginning: true })
    const forwardWork = (r: In): Observable<Result<OutputMessage>> => defer(() =>
      r.value?.toString() === 'POISON' ? throwError(() => new Error('poison at 2')) : of(forward<OutputMessage>({ key: Buffer.isBuffer(r.key) ? r.key : null, value: r.value })))
    let failure: unknown
    let committed = -1
    const subscription = source.pipe(
      groupByKeyConcat(recordKey, withRetry(forwardWork, { maxAttempts: 2, backoff: () => 10 }), { concurrency: 8 }),
      orderedMerge(),
      publish(clients.producer, { topic: out, deadLetterTopic: dlt }),
      commitOffsets(source, { interval: 100 }),
    ).subscribe({ next: (c) => { for (const o of c.offsets) committed = Number(o.offset) }, error: (e) => (failure = e) })
    try {
      await until(() => failure !== undefined || committed === 8, 'the commit to reach 8')
    } finally {
      subscription.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal([[0, 8]])
    const letters = await readTopic(testKafka('unrouted-read').consumer({ groupId: uniqueName('unrouted-read') }), dlt, 1)
    expect(letters.map((l) => l.value)).to.deep.equal(['POISON'])
  })
})
