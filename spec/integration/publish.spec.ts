// Integration: ordered publishing on a real broker. 3,000 keyed records in 4 partitions go through
// fromKafka -> groupByKeyConcat(withRetry(work)) -> orderedMerge -> publish -> commitOffsets, where the work
// forwards one message, forwards three (forward-many) or drops, after a random 0-2 ms. Checked: the output
// topic holds, per key, exactly the expected messages in input order (nothing missing, nothing extra); no
// commit was ever sent past a record whose outputs the broker had not acknowledged (acks recorded as they
// resolve, commits audited as they are sent); the group ends committed at the end offsets (zero lag).
import { expect } from 'chai'
import { of, delay } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { publish } from '../../lib/publish/publish'
import type { KafkaProducerLike } from '../../lib/client/producer'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { drop, forward, forwardMany, type OutputMessage, type Result } from '../../operators/result'
import { withRetry } from '../../operators/with-retry'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { CommitAudit, committedOffsetsOf, endOffsetsOf, pairs, produceKeyedSequence, readTopic, sequenceOf, until } from './fixtures/source-harness'

const RECORDS = 3_000
const PARTITIONS = 4
const KEYS = 60

/** What the work does with record n of its key: a fixed rule, so the expected output is known. */
function fate(n: number): 'drop' | 'many' | 'one' {
  return n % 7 === 3 ? 'drop' : n % 5 === 1 ? 'many' : 'one'
}


describe('integration: publish', function () {
  const clients = suiteClients('publish')

  it(`publishes ${RECORDS} records in key order with forward-many and drops, committing only acknowledged work`, async function () {
    this.timeout(180_000)
    const input = await createTopic('publish-in', PARTITIONS)
    const output = await createTopic('publish-out', PARTITIONS)
    const perKey = await produceKeyedSequence(clients.producer, input, { count: RECORDS, keys: KEYS, chunk: 1_000 })
    const ends = await endOffsetsOf(clients.admin, input)

    // Acknowledged outputs per input record, seen at the moment each sendBatch resolves.
    const audit = new CommitAudit()
    const owed = new Map<string, number>() // `${partition}@${offset}` -> outputs not yet acknowledged
    const acking: KafkaProducerLike = {
      sendBatch: async (batch) => {
        const result = await clients.producer.sendBatch(batch)
        for (const t of batch.topicMessages) {
          for (const m of t.messages) {
            const origin = String(m.headers?.origin)
            const left = (owed.get(origin) ?? 0) - 1
            owed.set(origin, left)
            if (left === 0) {
              const [p, o] = origin.split('@')
              audit.finished(Number(p), Number(o))
            }
          }
        }
        return result
      },
    }

    const groupId = uniqueName('publish-group')
    const source = fromKafka(audit.wrap(testKafka('publish').consumer({ groupId, maxWaitTimeInMs: 200 })), {
      topics: [input], fromBeginning: true, maxInFlight: 1_000,
    })
    const work = (r: SourceRecord<Buffer | null, Buffer | null>) => {
      const { key, n } = sequenceOf(r.value as Buffer)
      const origin = `${r.partition}@${r.offset}`
      const msg = (suffix: string): OutputMessage => ({ key, value: `${key}#${n}${suffix}`, headers: { origin } })
      const f = fate(n)
      let result: Result<OutputMessage>
      if (f === 'drop') {
        result = drop('every seventh')
        audit.finished(r.partition, Number(r.offset)) // nothing to acknowledge
      } else {
        owed.set(origin, f === 'many' ? 3 : 1)
        result = f === 'many' ? forwardMany(['.a', '.b', '.c'].map(msg)) : forward(msg(''))
      }
      return of(result).pipe(delay(Math.floor(Math.random() * 3)))
    }
    let committed = new Map<number, number>()
    let failure: unknown
    const subscription = source.pipe(
      groupByKeyConcat(recordKey, withRetry(work), { concurrency: 64, skip: r => source.isStale(r) }),
      orderedMerge(),
      publish(acking, { topic: output, linger: 5, maxBatchSize: 200 }),
      commitOffsets(source, { interval: 100 }),
    ).subscribe({
      next: c => { for (const o of c.offsets) committed.set(o.partition, Number(o.offset)) },
      error: e => (failure = e),
    })
    try {
      await until(() => failure !== undefined || pairs(committed).every(([p, o]) => o === ends.get(p)) && committed.size === PARTITIONS,
        'commits to reach the end offsets')
    } finally {
      subscription.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)
    expect(audit.violations).to.deep.equal([])

    // The output, per key, is the input order expanded.
    const expected = new Map<string, string[]>()
    let total = 0
    for (const [key, count] of perKey) {
      const values: string[] = []
      for (let n = 0; n < count; n++) {
        const f = fate(n)
        if (f === 'one') values.push(`${key}#${n}`)
        if (f === 'many') values.push(`${key}#${n}.a`, `${key}#${n}.b`, `${key}#${n}.c`)
      }
      total += values.length
      expected.set(key, values)
    }
    const written = await readTopic(testKafka('publish-read').consumer({ groupId: uniqueName('publish-read') }), output, total)
    const actual = new Map<string, string[]>()
    for (const { key, value } of written) actual.set(key, [...(actual.get(key) ?? []), value])
    expect(written).to.have.length(total)
    for (const [key, values] of expected) expect(actual.get(key) ?? [], key).to.deep.equal(values)

    committed = await committedOffsetsOf(clients.admin, groupId, input)
    expect(pairs(committed)).to.deep.equal(pairs(ends))
  })
})
