// Integration (issue 15 part 1): a new group with kafkajs's DEFAULT consumer options (reset policy `latest`,
// fromBeginning false, maxWaitTimeInMs 5 s), the first record of the partition stuck forever, later records
// of other keys finished, more records produced meanwhile; then the member goes away before anything of that
// partition could be committed (drain timeout, unsubscribe, error). A second member of the group must
// process the stuck record and everything produced after it: the start position was made durable.
// Mutation caught: removing the start-position commit (session.ts's `this.#starts.commit`) makes the group
// have no commit (-1), the second member starts at the log end and each case times out with 0 records.
import { expect } from 'chai'
import { NEVER, Observable, of, type Subscription } from 'rxjs'
import type { Consumer } from 'kafkajs'
import { DrainTimeoutError } from '../../lib/source/drain'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { committedOffsetsOf, pairs, until } from './fixtures/source-harness'

type Rec = SourceRecord<Buffer | null, Buffer | null>
type Ending = 'drain timeout' | 'unsubscribe' | 'error'

/** Resolves after the consumer's first fetch response: its start position (reset to `latest`) is resolved. */
function firstFetch(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    const remove = consumer.on(consumer.events.FETCH, () => {
      remove()
      resolve()
    })
  })
}

describe('integration: the start position of a new group is durable (default reset policy)', function () {
  const clients = suiteClients('start-position')

  for (const ending of ['drain timeout', 'unsubscribe', 'error'] as Ending[]) {
    it(`${ending} before anything of the partition finished in order: the next member reads the stuck record and all after it`, async function () {
      this.timeout(180_000)
      const topic = await createTopic(`start-${ending.replace(' ', '-')}`, 1)
      const groupId = uniqueName('start-group')
      const consumer = testKafka('start-first').consumer({ groupId }) // kafkajs defaults: no shortened waits
      const controller = new AbortController()
      const source = fromKafka(consumer, { topics: [topic], signal: controller.signal, drainTimeout: 300 })
      let delivered = 0
      let ended: 'complete' | { error: unknown } | undefined
      const fetched = firstFetch(consumer)
      const sub: Subscription = source.pipe(
        groupByKeyConcat(recordKey, (r: Rec): Observable<Rec> => {
          delivered++
          if (r.key?.toString() === 'stuck') return NEVER // never finishes
          if (ending === 'error' && r.key?.toString() === 'poison') throw new Error('poison record')
          return of(r)
        }),
        // No orderedMerge: the later records of other keys finish although the first one never does.
        commitOffsets(source, { interval: 100 }),
      ).subscribe({ complete: () => (ended = 'complete'), error: (error) => (ended = { error }) })
      await fetched
      await clients.producer.send({ topic, messages: [{ key: 'stuck', value: '0' }, ...keyed(1, 5)] })
      await until(() => delivered === 6, 'the first 6 records delivered')
      await clients.producer.send({ topic, messages: keyed(6, 4) }) // produced meanwhile
      await until(() => delivered === 10, 'the next 4 records delivered')
      if (ending === 'drain timeout') controller.abort()
      else if (ending === 'unsubscribe') sub.unsubscribe()
      else await clients.producer.send({ topic, messages: [{ key: 'poison', value: 'x' }] })
      if (ending !== 'unsubscribe') await until(() => ended !== undefined, 'the stream to end')
      await source.closed()
      if (ending === 'drain timeout') {
        const error = (ended as { error: unknown }).error as DrainTimeoutError
        expect(error).to.be.instanceOf(DrainTimeoutError)
        // Only commits that happened: the start position (0), acknowledged before the first delivery.
        expect(error.partitions).to.deep.equal([{ topic, partition: 0, unfinished: 1, from: '0', committed: '0' }])
      }
      // Nothing finished in order on the partition: the group's commit is the start position, not -1.
      expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal([[0, 0]])

      // The next member of the group, with the same defaults: every record from the stuck one on.
      const total = ending === 'error' ? 11 : 10
      const next = fromKafka(testKafka('start-next').consumer({ groupId }), { topics: [topic] })
      const seen = new Set<string>()
      const nextSub = next.subscribe((r) => seen.add(r.offset))
      try {
        await until(() => seen.size === total, `the next member to read offsets 0..${total - 1} (read ${[...seen].join(',')})`, 60_000)
      } finally {
        nextSub.unsubscribe()
        await next.closed()
      }
      expect([...seen].map(Number).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: total }, (_, i) => i))
    })
  }
})

const keyed = (from: number, count: number): { key: string; value: string }[] =>
  Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: String(from + i) }))

