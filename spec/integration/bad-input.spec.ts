// Integration test 5: bad input on a real broker. Null keys, an empty value, a tombstone, a 1 MiB value, a
// value and a key the decoders reject, headers: each record gets a clear outcome, in partition order, the
// stream goes on, null-key records of the partition never overlap, and the commit reaches the end offset.
// Runs on every client (eachClient): kafkajs, @platformatic/kafka with KIP-848 and with the classic protocol.
import { expect } from 'chai'
import { tap } from 'rxjs'
import { isDecodeFailure, jsonDecoder, stringDecoder, type Decoder } from '../../lib/record/decoders'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { createTopic, uniqueName } from './broker-hooks'
import { eachClient } from './fixtures/each-client'
import { suiteClients } from './fixtures/clients'
import { expectCommittedAtEnd } from './fixtures/keyed-topic'
import { sleep, until } from './fixtures/source-harness'

const MiB = 1024 * 1024

eachClient('integration: bad input', (client) => {
  const clients = suiteClients('bad-input', {})

  it('gives every record a clear outcome, goes on, and commits to the end offset', async function () {
    this.timeout(120_000)
    // The broker's default limit is about 1 MB per record batch: this topic takes up to 3 MiB.
    const topic = await createTopic('bad-input', 1, { 'max.message.bytes': String(3 * MiB) })
    const big = JSON.stringify('x'.repeat(MiB))
    await clients.producer.send({
      topic,
      messages: [
        { partition: 0, key: 'a', value: '{"n":0}' },
        { partition: 0, key: null, value: '{"n":1}' },
        { partition: 0, key: 'a', value: '' },
        { partition: 0, key: 'b', value: null },
        { partition: 0, key: 'big', value: big },
        { partition: 0, key: 'a', value: 'not json' },
        { partition: 0, key: Buffer.from([0xff, 0xfe]), value: '{"n":6}' },
        { partition: 0, key: null, value: '{"n":7}', headers: { trace: 'x-1' } },
        { partition: 0, key: 'a', value: '{"n":8}' },
      ],
    })

    const json = jsonDecoder()
    // An empty value is not JSON, but here it means something: decode it as ''.
    const valueDecoder: Decoder<unknown> = (bytes, context) => (bytes !== null && bytes.length === 0 ? '' : json(bytes, context))
    const groupId = uniqueName('bad-input-group')
    const consumer = client.consumer(groupId, { maxWaitTimeInMs: 250, maxBytesPerPartition: 64 * 1024 })
    const source = fromKafka(consumer, { topics: [topic], fromBeginning: true, keyDecoder: stringDecoder, valueDecoder })
    const outcomes: string[] = []
    const overlaps: string[] = []
    const running = new Set<unknown>()
    let failure: unknown

    const outcomeOf = (r: SourceRecord<string | null, unknown>): string => {
      if (isDecodeFailure(r)) {
        // Would go to a dead-letter topic: here its outcome says what failed.
        return `dead-letter(${r.decodeError.part}: ${(r.decodeError.cause as Error).name})`
      }
      const key = r.key === null ? 'null' : r.key
      const trace = r.headers.trace === undefined ? '' : ` trace=${String(r.headers.trace)}`
      if (r.value === null) return `${key}: tombstone`
      if (r.value === '') return `${key}: empty`
      if (typeof r.value === 'string') return `${key}: ${r.value.length} chars`
      return `${key}: n=${(r.value as { n: number }).n}${trace}`
    }

    const subscription = source
      .pipe(
        groupByKeyConcat(
          recordKey,
          async (r: SourceRecord<string | null, unknown>) => {
            const k = recordKey(r)
            if (running.has(k)) overlaps.push(`${r.offset} overlapped its key`)
            running.add(k)
            await sleep(r.key === null ? 20 : 1) // null-key records take long: they still must not overlap
            running.delete(k)
            return outcomeOf(r)
          },
          { concurrency: 8, skip: (r) => source.isStale(r) },
        ),
        orderedMerge(),
        tap(({ item, results }) => outcomes.push(`${item.offset} ${results.join()}`)),
        commitOffsets(source, { interval: 100 }),
      )
      .subscribe({ error: (e) => (failure = e) })

    try {
      await until(() => failure !== undefined || (outcomes.length >= 9 && source.tracker.inFlight === 0), 'every record handled')
    } finally {
      subscription.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)
    expect(overlaps).to.deep.equal([])
    expect(outcomes).to.deep.equal([
      '0 a: n=0',
      '1 null: n=1',
      '2 a: empty',
      '3 b: tombstone',
      `4 big: ${MiB} chars`,
      '5 dead-letter(value: SyntaxError)',
      '6 dead-letter(key: TypeError)',
      '7 null: n=7 trace=x-1',
      '8 a: n=8',
    ])
    await expectCommittedAtEnd(clients.admin, groupId, topic)
  })
}, { classic: true })
