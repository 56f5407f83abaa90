import { expect } from 'chai'
import fc from 'fast-check'
import { VirtualTimeScheduler, Subject } from 'rxjs'
import { publish } from '../lib/publish/publish'
import { DEAD_LETTER_HEADERS } from '../lib/publish/dead-letter'
import type { KafkaProducerLike, TopicMessagesLike } from '../lib/client/producer'
import type { Processed } from '../operators/processed'
import { drop, failed, forward, forwardMany, type OutputMessage, type Result } from '../operators/result'
import { recordBuilder, type TestRecord } from '../lib/testing/records'

type In = Processed<TestRecord, Result<OutputMessage>>

/** A producer whose sends stay pending until the test settles them, recording what the broker acknowledged. */
class FakeProducer implements KafkaProducerLike {
  readonly pending: { batch: TopicMessagesLike[]; resolve: () => void; reject: (e: unknown) => void }[] = []
  readonly acked: { topic: string; value: string }[] = []
  readonly batchSizes: number[] = []
  maxConcurrent = 0
  sendBatch(batch: { topicMessages: TopicMessagesLike[]; acks?: number }): Promise<unknown> {
    this.batchSizes.push(batch.topicMessages.reduce((n, t) => n + t.messages.length, 0))
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ batch: batch.topicMessages, resolve, reject })
      this.maxConcurrent = Math.max(this.maxConcurrent, this.pending.length)
    })
  }
  settle(index: number, ok: boolean): void {
    const [p] = this.pending.splice(index, 1)
    if (p === undefined) return
    if (!ok) return p.reject(new Error('NOT_ENOUGH_REPLICAS'))
    for (const t of p.batch) for (const m of t.messages) this.acked.push({ topic: t.topic, value: String(m.value) })
    p.resolve()
  }
}

const ticks = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

type Kind = 'fwd' | 'many' | 'drop' | 'dlt' | 'none' | 'fail'
// 'fail' is rarer, so most runs get far before stopping.
const resultArb: fc.Arbitrary<Kind> = fc.oneof(
  { arbitrary: fc.constantFrom<Kind>('fwd', 'many', 'drop', 'dlt', 'none'), weight: 20 },
  { arbitrary: fc.constant<Kind>('fail'), weight: 1 },
)

function inputsOf(kinds: { kind: Kind; partition: number; n: number }[]): In[] {
  const make = recordBuilder({ topic: 'in' })
  return kinds.map(({ kind, partition, n }, i) => {
    const item = make({ partition, key: `k${i % 3}`, value: `rec${i}` })
    const msg = (j: number): OutputMessage => ({ key: item.key, value: `${i}.${j}` })
    const results: Result<OutputMessage>[] =
      kind === 'fwd' ? [forward(msg(0))]
        : kind === 'many' ? [forwardMany(Array.from({ length: n }, (_, j) => msg(j)))]
          : kind === 'drop' ? [drop('not needed')]
            : kind === 'dlt' ? [failed(new Error(`poison ${i}`), 3)]
              // A forward before the failure: it must not be sent either.
              : kind === 'fail' ? [forward(msg(0)), failed(`fatal ${i}`, 2, 'fail')]
                : []
    return { item, results }
  })
}

/** What the inputs should write, in input order, per topic. */
function expectedWrites(inputs: In[]): { topic: string; value: string }[] {
  return inputs.flatMap(({ item, results }) => results.some(r => r.kind === 'failed' && r.action === 'fail') ? [] : results.flatMap(r =>
    r.kind === 'forward' ? [{ topic: 'out', value: String(r.message.value) }]
      : r.kind === 'forward-many' ? r.messages.map(m => ({ topic: 'out', value: String(m.value) }))
        : r.kind === 'failed' ? [{ topic: 'dlt', value: String(item.value) }]
          : []))
}

describe('publish', () => {
  // Invariant: an input is emitted only after every one of its outputs was acknowledged, inputs leave in input
  // order, each exactly once, and the acknowledged writes are exactly the outputs in input order (retries
  // included); with a 'fail' result, exactly the inputs before it are emitted and written, then its error.
  // Mutations caught: drain() emitting while `outstanding <= 1` instead of `=== 0`: "rec0 emitted before 0.0
  // was acked"; removing the `if (sending)` guard in flush() (two batches in flight): "expected 2 to be at
  // most 1"; acked() not decrementing `outstanding`: "ended: expected false to equal true"; dropping
  // `buffer.length = mark` (a failing record's own forward is sent): "expected undefined to equal 'fatal 1'"; acked() not scheduling what is left
  // after a full batch (a real bug, found by this check): "emitted before the source completed: expected 3 to equal 4".
  it('emits each input only after all its outputs were acked, in input order (property)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ kind: resultArb, partition: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 0, max: 4 }) }), { maxLength: 25 }),
      fc.array(fc.record({ op: fc.constantFrom('push', 'push', 'ack', 'ack', 'fail', 'time'), at: fc.nat(), by: fc.integer({ min: 0, max: 10 }) }), { maxLength: 80 }),
      fc.integer({ min: 1, max: 6 }),
      async (kinds, ops, batchSize) => {
        const inputs = inputsOf(kinds)
        const producer = new FakeProducer()
        const scheduler = new VirtualTimeScheduler()
        const source = new Subject<In>()
        const emitted: In[] = []
        let completed = false
        let error: unknown
        const violations: string[] = []
        source.pipe(publish(producer, { topic: 'out', deadLetterTopic: 'dlt', maxBatchSize: batchSize, linger: 3, backoff: () => 2, maxAttempts: Infinity, scheduler }))
          .subscribe({
            next: (p) => {
              const ackedValues = new Set(producer.acked.map(a => `${a.topic}|${a.value}`))
              for (const w of expectedWrites([p])) {
                if (!ackedValues.has(`${w.topic}|${w.value}`)) violations.push(`${p.item.value} emitted before ${w.value} was acked`)
              }
              emitted.push(p)
            },
            error: (e) => (error = e),
            complete: () => (completed = true),
          })
        let next = 0
        for (const { op, at, by } of ops) {
          if (op === 'push' && next < inputs.length) source.next(inputs[next++]!)
          else if (op === 'ack' && producer.pending.length > 0) producer.settle(at % producer.pending.length, true)
          else if (op === 'fail' && producer.pending.length > 0) producer.settle(at % producer.pending.length, false)
          else if (op === 'time') {
            scheduler.maxFrames = scheduler.now() + by
            scheduler.flush()
          }
          await ticks()
        }
        while (next < inputs.length) source.next(inputs[next++]!)
        // Let everything through without completing the source (nothing may wait for more input): ack every
        // send, run every timer; then complete.
        const settleAll = async (): Promise<void> => {
          for (let guard = 0; guard < 1000 && !completed && error === undefined; guard++) {
            if (producer.pending.length > 0) producer.settle(0, true)
            scheduler.maxFrames = Infinity
            scheduler.flush()
            await ticks()
            if (producer.pending.length === 0 && scheduler.actions.length === 0) break
          }
        }
        await settleAll()
        const fatalAt = kinds.findIndex(k => k.kind === 'fail')
        expect(emitted.length, 'emitted before the source completed').to.equal(fatalAt === -1 ? inputs.length : fatalAt)
        source.complete()
        await settleAll()
        // With a 'fail' result, the run is the prefix before it, then its error.
        const fatal = kinds.findIndex(k => k.kind === 'fail')
        const upTo = fatal === -1 ? inputs.length : fatal
        expect(error).to.equal(fatal === -1 ? undefined : `fatal ${fatal}`)
        expect(violations).to.deep.equal([])
        expect(completed || error !== undefined, 'ended').to.equal(true)
        expect(emitted.map(p => p.item.value)).to.deep.equal(inputs.slice(0, upTo).map(p => p.item.value))
        const writes = expectedWrites(inputs.slice(0, upTo))
        // Order holds per topic (a batch groups messages by topic; order across topics means nothing to Kafka).
        for (const t of ['out', 'dlt']) {
          expect(producer.acked.filter(a => a.topic === t)).to.deep.equal(writes.filter(w => w.topic === t))
        }
        expect(producer.maxConcurrent).to.be.at.most(1)
        for (const size of producer.batchSizes) expect(size).to.be.at.most(batchSize)
      },
    ), { numRuns: 500 })
  })

  it("stops at a 'fail' result: everything before it is emitted, nothing at or after it, then the error", async () => {
    const producer = new FakeProducer()
    const scheduler = new VirtualTimeScheduler()
    const source = new Subject<In>()
    const [a, b, c] = inputsOf([{ kind: 'fwd', partition: 0, n: 0 }, { kind: 'fwd', partition: 0, n: 0 }, { kind: 'fwd', partition: 0, n: 0 }])
    const boom = new Error('boom')
    const emitted: unknown[] = []
    let error: unknown
    source.pipe(publish(producer, { topic: 'out', scheduler })).subscribe({ next: p => emitted.push(p.item.value), error: e => (error = e) })
    source.next(a!)
    source.next({ item: b!.item, results: [forward({ key: 'x', value: 'not sent' }), failed(boom, 2, 'fail')] })
    source.next(c!) // ignored: past the failure
    await ticks()
    expect(producer.pending.map(p => p.batch[0]!.messages.map(m => m.value))).to.deep.equal([['0.0']])
    expect(error).to.equal(undefined)
    producer.settle(0, true)
    await ticks()
    expect(emitted).to.deep.equal(['rec0'])
    expect(error).to.equal(boom)
    expect(source.observed, 'source unsubscribed once failed').to.equal(false)
  })

  it('errors on a bad input only once the send in flight settled: no sendBatch is out when it ends', async () => {
    const producer = new FakeProducer()
    const scheduler = new VirtualTimeScheduler()
    const source = new Subject<In>()
    const [a, b] = inputsOf([{ kind: 'fwd', partition: 0, n: 0 }, { kind: 'fwd', partition: 0, n: 0 }])
    const emitted: unknown[] = []
    let error: unknown
    source.pipe(publish(producer, { topic: 'out', linger: 0, scheduler })).subscribe({ next: p => emitted.push(p.item.value), error: e => (error = e) })
    source.next(a!)
    scheduler.flush()
    expect(producer.pending.length).to.equal(1) // a's send is out
    source.next({ item: b!.item, results: [{ kind: 'nonsense' } as unknown as Result<OutputMessage>] })
    source.next(b!) // ignored: past the bad input
    await ticks()
    expect(error, 'not while a send is in flight').to.equal(undefined)
    producer.settle(0, true)
    await ticks()
    expect(emitted).to.deep.equal(['rec0'])
    expect(String(error)).to.match(/expected a Result .* received object {"kind":"nonsense"}/)
    scheduler.flush()
    expect(producer.pending.length, 'nothing sent after').to.equal(0)
    expect(source.observed, 'source unsubscribed').to.equal(false)
  })

  it('dead-letters a decode failure with the raw bytes and the headers', async () => {
    const producer = new FakeProducer()
    const source = new Subject<Processed<never, Result<OutputMessage>>>()
    const item = {
      topic: 'in', partition: 2, offset: '41', seq: 0, epoch: 0, key: Buffer.from([0xff]), value: null, timestamp: '0',
      headers: { trace: 't1' }, rawKey: Buffer.from([0xff]), rawValue: Buffer.from('{bad'),
      decodeError: { part: 'value' as const, cause: new SyntaxError('Unexpected token') },
    }
    let sent: TopicMessagesLike[] = []
    producer.sendBatch = async (batch) => { sent = batch.topicMessages }
    const done = new Promise<unknown[]>((resolve, reject) => {
      const out: unknown[] = []
      source.pipe(publish(producer, { topic: 'out', deadLetterTopic: 'dlt' })).subscribe({ next: p => out.push(p), error: reject, complete: () => resolve(out) })
    })
    source.next({ item: item as never, results: [] })
    source.complete()
    expect(await done).to.have.length(1)
    expect(sent).to.have.length(1)
    expect(sent[0]!.topic).to.equal('dlt')
    const letter = sent[0]!.messages[0]!
    expect(letter.value).to.deep.equal(Buffer.from('{bad'))
    expect(letter.key).to.deep.equal(Buffer.from([0xff]))
    expect(letter.headers).to.deep.include({
      trace: 't1',
      [DEAD_LETTER_HEADERS.topic]: 'in', [DEAD_LETTER_HEADERS.partition]: '2', [DEAD_LETTER_HEADERS.offset]: '41',
      [DEAD_LETTER_HEADERS.error]: 'SyntaxError: Unexpected token', [DEAD_LETTER_HEADERS.attempts]: '0',
      [DEAD_LETTER_HEADERS.reason]: 'decode',
    })
  })

  it('errors when a record must be dead-lettered but no deadLetterTopic is set', async () => {
    const [a] = inputsOf([{ kind: 'dlt', partition: 0, n: 0 }])
    const source = new Subject<In>()
    const producer = new FakeProducer()
    let error: unknown
    source.pipe(publish(producer, { topic: 'out' })).subscribe({ error: e => (error = e) })
    source.next(a!)
    await ticks()
    expect(String(error)).to.match(/no deadLetterTopic/)
  })

  it('errors after maxAttempts failed sends, and rejects bad options at call time', async () => {
    const [a] = inputsOf([{ kind: 'fwd', partition: 0, n: 0 }])
    const producer: KafkaProducerLike = { sendBatch: () => Promise.reject(new Error('down')) }
    const scheduler = new VirtualTimeScheduler()
    const source = new Subject<In>()
    let error: unknown
    source.pipe(publish(producer, { topic: 'out', maxAttempts: 3, backoff: () => 1, scheduler })).subscribe({ error: e => (error = e) })
    source.next(a!)
    source.complete()
    for (let i = 0; i < 5; i++) {
      await ticks()
      scheduler.flush()
    }
    expect(String(error)).to.equal("PublishSendError: publish: sending to topic(s) out failed after 3 attempt(s): Error: down; the batch's records are not committed")
    expect((error as Error).cause).to.deep.equal(new Error('down'))
    expect(() => publish(producer, { topic: '' })).to.throw(TypeError)
    expect(() => publish(producer, { topic: 'x', maxBatchSize: 0 })).to.throw(RangeError)
  })
})
