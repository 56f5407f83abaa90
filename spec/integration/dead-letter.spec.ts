// Integration: failure handling on a real broker.
// 1. A poison record of one key fails every try (withRetry, 3 tries): it goes to the dead-letter topic with
//    headers naming its origin, error and attempts; later records of its key wait for it, other keys keep
//    flowing meanwhile; an undecodable record takes the same route; the commit passes both (zero lag).
// 2. `onExhausted: 'fail'`: the stream errors with the record's error and the group ends committed exactly
//    at the failed record's offset: everything before it, nothing past it.
// Runs on every client (eachClient): consumer and publish's producer are kafkajs, or @platformatic/kafka
// (KIP-848, classic); the topics are set up and read back with kafkajs.
import { expect } from 'chai'
import { defer, delay, of, throwError } from 'rxjs'
import { DEAD_LETTER_HEADERS } from '../../lib/publish/dead-letter'
import { isDecodeFailure, type Decoder } from '../../lib/record/decoders'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { publish } from '../../lib/publish/publish'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { drop, forward, type OutputMessage, type Result } from '../../operators/result'
import { withRetry } from '../../operators/with-retry'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { cleanupAfterEach } from './fixtures/cleanup'
import { eachClient } from './fixtures/each-client'
import { keyedTopic } from './fixtures/keyed-topic'
import { CommitAudit, committedOffsetsOf, endOffsetsOf, pairs, produceKeyedSequence, readTopic, until } from './fixtures/source-harness'

/** `<key>#<n>` values; anything starting with BAD is undecodable. */
const sequenceDecoder: Decoder<{ key: string; n: number }> = (data) => {
  const text = data?.toString() ?? ''
  if (text.startsWith('BAD')) throw new Error(`not a sequence: ${text}`)
  const [key, n] = text.split('#')
  return { key: key!, n: Number(n) }
}


type In = SourceRecord<Buffer | null, { key: string; n: number }>

eachClient('integration: dead letters and fail mode', (client) => {
  const clients = suiteClients('dlt')
  const cleanup = cleanupAfterEach()

  it('routes a poison record to the dead-letter topic after its retries while other keys flow, and commits past it', async function () {
    this.timeout(180_000)
    const { topic: input, groupId, perKey } = await keyedTopic(clients.producer, 'dlt-in', 2, { count: 1_000, keys: 10 })
    const output = await createTopic('dlt-out', 2)
    const dlt = await createTopic('dlt', 1)
    await clients.producer.send({ topic: input, messages: [{ key: 'k4', value: 'BAD!', headers: { trace: 'x1' } }] })
    const ends = await endOffsetsOf(clients.admin, input)

    const events: string[] = [] // what happened, in order: tries of the poison, starts of k3, finishes of others
    let poisonOrigin = ''
    const work = (r: In) => defer(() => {
      if (isDecodeFailure(r)) return of<Result<OutputMessage>>(drop('undecodable'))
      const { key, n } = r.value
      events.push(`${key === 'k3' ? 'start' : 'other'} ${key}#${n}`)
      if (key === 'k3' && n === 5) {
        poisonOrigin = `${r.partition}@${r.offset}`
        return throwError(() => new Error('poison k3#5'))
      }
      return of(forward<OutputMessage>({ key, value: `${key}#${n}` })).pipe(delay(1 + Math.floor(Math.random() * 3)))
    })

    const audit = new CommitAudit()
    const producer = await client.producer(cleanup)
    const source = fromKafka(audit.wrap(client.consumer(groupId, { maxWaitTimeInMs: 200 })), {
      topics: [input], fromBeginning: true, maxInFlight: 2_000, valueDecoder: sequenceDecoder,
    })
    const committed = new Map<number, number>()
    let failure: unknown
    const subscription = source.pipe(
      groupByKeyConcat(recordKey, withRetry(work, { maxAttempts: 3, backoff: () => 100 }), { concurrency: 32 }),
      orderedMerge(),
      // fromKafka keeps the bytes as fetched on every record: a letter carries them, nothing is re-encoded.
      publish(producer, {
        topic: output, deadLetterTopic: dlt,
        encodeDeadLetter: () => {
          throw new Error('re-encoded a record that has its original bytes')
        },
      }),
      commitOffsets(source, { interval: 100 }),
    ).subscribe({
      next: c => { for (const o of c.offsets) committed.set(o.partition, Number(o.offset)) },
      error: e => (failure = e),
    })
    try {
      await until(() => failure !== undefined || (committed.size === 2 && pairs(committed).every(([p, o]) => o === ends.get(p))),
        'commits to reach the end offsets')
    } finally {
      subscription.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, input))).to.deep.equal(pairs(ends))

    // Key order across retries: k3#5 tried 3 times, and k3#6 only started after the last try.
    const tries = events.flatMap((e, i) => (e === 'start k3#5' ? [i] : []))
    expect(tries).to.have.length(3)
    expect(events.indexOf('start k3#6')).to.be.greaterThan(tries[2]!)
    // Other keys went on while the poison waited between tries.
    const othersDuring = events.slice(tries[0]!, tries[2]!).filter(e => e.startsWith('other')).length
    expect(othersDuring).to.be.greaterThan(0)

    const letters = await readTopic(testKafka('dlt-read').consumer({ groupId: uniqueName('dlt-read') }), dlt, 2)
    expect(letters).to.have.length(2)
    const poison = letters.find(l => l.value === 'k3#5')!
    const [partition, offset] = poisonOrigin.split('@')
    expect(poison.key).to.equal('k3')
    expect(poison.headers).to.deep.include({
      [DEAD_LETTER_HEADERS.topic]: input, [DEAD_LETTER_HEADERS.partition]: partition, [DEAD_LETTER_HEADERS.offset]: offset,
      [DEAD_LETTER_HEADERS.error]: 'Error: poison k3#5', [DEAD_LETTER_HEADERS.attempts]: '3', [DEAD_LETTER_HEADERS.reason]: 'processing',
    })
    const bad = letters.find(l => l.value === 'BAD!')!
    expect(bad.headers).to.deep.include({
      trace: 'x1', [DEAD_LETTER_HEADERS.topic]: input, [DEAD_LETTER_HEADERS.attempts]: '0', [DEAD_LETTER_HEADERS.reason]: 'decode',
      [DEAD_LETTER_HEADERS.error]: 'Error: not a sequence: BAD!',
    })
    // Every other record was forwarded.
    const forwarded = await readTopic(testKafka('dlt-read-out').consumer({ groupId: uniqueName('dlt-read-out') }), output, 999)
    const k3 = forwarded.filter(m => m.key === 'k3').map(m => m.value)
    expect(k3).to.deep.equal(Array.from({ length: perKey.get('k3')! }, (_, n) => `k3#${n}`).filter(v => v !== 'k3#5'))
    expect(forwarded).to.have.length(999)
  })

  it("fail mode: the stream errors and the commit stops exactly at the failed record", async function () {
    this.timeout(120_000)
    const input = await createTopic('fail-in', 1)
    const output = await createTopic('fail-out', 1)
    await produceKeyedSequence(clients.producer, input, { count: 200, keys: 5 })
    const poison = new Error('poison k2#7')
    let poisonOffset = -1
    const work = (r: In) => defer(() => {
      if (isDecodeFailure(r)) return of<Result<OutputMessage>>(drop('undecodable'))
      const { key, n } = r.value
      if (key === 'k2' && n === 7) {
        poisonOffset = Number(r.offset)
        return throwError(() => poison)
      }
      // Slow enough that records of other keys before the poison are still running when it fails.
      return of(forward<OutputMessage>({ key, value: `${key}#${n}` })).pipe(delay(1 + Math.floor(Math.random() * 10)))
    })
    const audit = new CommitAudit()
    const groupId = uniqueName('fail-group')
    const producer = await client.producer(cleanup)
    const source = fromKafka(audit.wrap(client.consumer(groupId, { maxWaitTimeInMs: 200 })), {
      topics: [input], fromBeginning: true, valueDecoder: sequenceDecoder,
    })
    let failure: unknown
    source.pipe(
      groupByKeyConcat(recordKey, withRetry(work, { maxAttempts: 2, backoff: () => 20, onExhausted: 'fail' }), { concurrency: 32 }),
      orderedMerge(),
      publish(producer, { topic: output }),
      commitOffsets(source, { interval: 100 }),
    ).subscribe({ error: e => (failure = e) })
    await until(() => failure !== undefined, 'the stream to fail')
    await source.closed()
    expect(failure).to.equal(poison)
    expect(poisonOffset).to.be.greaterThan(0)
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, input))).to.deep.equal([[0, poisonOffset]])
    for (const sent of audit.sent) for (const [, o] of sent) expect(o).to.be.at.most(poisonOffset)
  })
}, { classic: true })
