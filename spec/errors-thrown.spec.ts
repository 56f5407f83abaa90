// Real throws carry the right KafkaRxError: each stage, made to fail, ends the stream with its class, its
// stage and the retriable flag its JSDoc promises.
import { expect } from 'chai'
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs'
import { EMPTY, from, lastValueFrom, of, Subject, throwError, type Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { KafkaRxError } from '../operators/kafka-rx-error'
import { SequenceError } from '../operators/sequence-error'
import { orderedMerge } from '../operators/ordered-merge'
import { BatchError, batchByKey } from '../operators/batch-by-key'
import { commitOffsets } from '../operators/commit-offsets'
import { UnroutedFailureError } from '../operators/unrouted-failure'
import { failed, forward, type OutputMessage, type Result } from '../operators/result'
import type { Processed } from '../operators/processed'
import { publish } from '../lib/publish/publish'
import { PublishSendError } from '../lib/publish/send-error'
import { DecodeFailureError, NoDeadLetterTopicError } from '../lib/publish/record-errors'
import type { KafkaProducerLike } from '../lib/client/producer'
import { fromKafka } from '../lib/source/from-kafka'
import { ConsumerInUseError } from '../lib/source/consumer-in-use-error'
import { DrainTimeoutError } from '../lib/source/drain'
import { refuseSeeks, SeekRefusedError } from '../lib/source/refuse-seeks'
import type { KafkaConsumerLike } from '../lib/client/consumer'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { recordBuilder, type TestRecord } from '../lib/testing/records'
import { FakeConsumer, makeLog } from './fixtures/fake-consumer'

type In = Processed<TestRecord, Result<OutputMessage>>

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function errorOf(stream: Observable<unknown>): Promise<unknown> {
  try {
    await lastValueFrom(stream, { defaultValue: undefined })
  } catch (e) {
    return e
  }
  throw new Error('the stream did not fail')
}

function expectKafkaRxError(error: unknown, cls: Function, stage: string, retriable: boolean): void {
  expect(error).to.be.instanceOf(cls).and.instanceOf(KafkaRxError).and.instanceOf(Error)
  expect((error as KafkaRxError).stage).to.equal(stage)
  expect((error as KafkaRxError).retriable).to.equal(retriable)
  expect((error as Error).message.startsWith(`${stage}: `)).to.equal(true)
}

describe('errors: real throws carry their stage and retriable flag', () => {
  it('orderedMerge: a duplicated seq is a SequenceError, not retriable (marbles)', () => {
    const make = recordBuilder({ topic: 'orders' })
    const v = { a: make({ partition: 0, offset: 0 }), b: make({ partition: 0, offset: 1 }) }
    let error: unknown
    new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected)
    }).run(({ cold, expectObservable }) => {
      const merged = cold('a-a-b|', v).pipe(orderedMerge())
      merged.subscribe({ error: (e) => (error = e) })
      expectObservable(merged).toBe('a-#', v, new SequenceError('orderedMerge: seq 0 of lane orders-0 (epoch 0) arrived after it was emitted: items were duplicated upstream', 'orders-0', 0))
    })
    expectKafkaRxError(error, SequenceError, 'orderedMerge', false)
    expect([(error as SequenceError).lane, (error as SequenceError).seq]).to.deep.equal(['orders-0', 0])
  })

  it("batchByKey: a BatchError is retriable only when run's error says so", async () => {
    const transient = Object.assign(new Error('503 from the batch API'), { retriable: true })
    const flagged = await errorOf(of('a1').pipe(batchByKey((s) => s[0]!, () => throwError(() => transient))))
    expectKafkaRxError(flagged, BatchError, 'batchByKey', true)
    const plain = await errorOf(of('a1').pipe(batchByKey((s) => s[0]!, () => Promise.reject(new Error('boom')))))
    expectKafkaRxError(plain, BatchError, 'batchByKey', false)
    const miscounted = await errorOf(of('a1', 'b1').pipe(batchByKey((s) => s[0]!, async () => ['one result'], { accumulationDelay: 0 })))
    expectKafkaRxError(miscounted, BatchError, 'batchByKey', false)
  })

  it("publish: a send kafkajs retried out over a lost connection is retriable; the cause is kept", async () => {
    const lost = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: ECONNREFUSED'), { retryCount: 5, retryTime: 3000 })
    const producer: KafkaProducerLike = { sendBatch: () => Promise.reject(lost) }
    const input: In = { item: recordBuilder({ topic: 'in' })({ key: 'k' }), results: [forward({ key: 'k', value: 'v' })] }
    const error = await errorOf(of(input).pipe(publish(producer, { topic: 'out' })))
    expectKafkaRxError(error, PublishSendError, 'publish', true)
    expect((error as PublishSendError).cause).to.equal(lost)
  })

  it("publish: an undecodable record with decodeFailures 'fail', and a dead letter without a topic, are fatal", async () => {
    const producer: KafkaProducerLike = { sendBatch: async () => undefined }
    const make = recordBuilder({ topic: 'in' })
    const bad = new SyntaxError('Unexpected token')
    const undecodable = { ...make({ partition: 2, offset: 7 }), rawKey: null, rawValue: Buffer.from('{'), decodeError: { part: 'value' as const, cause: bad } }
    const decodeError = await errorOf(of({ item: undecodable, results: [] } as unknown as In).pipe(publish(producer, { topic: 'out', decodeFailures: 'fail' })))
    expectKafkaRxError(decodeError, DecodeFailureError, 'publish', false)
    expect((decodeError as DecodeFailureError).record).to.deep.equal({ topic: 'in', partition: 2, offset: '7' })
    expect((decodeError as DecodeFailureError).cause).to.equal(bad)
    expect((decodeError as Error).message).to.contain('in/2@7').and.contain('SyntaxError: Unexpected token')

    const poison: In = { item: make({ partition: 1, offset: 3 }), results: [failed(new Error('poison'), 3)] }
    const noTopic = await errorOf(of(poison).pipe(publish(producer, { topic: 'out' })))
    expectKafkaRxError(noTopic, NoDeadLetterTopicError, 'publish', false)
    expect((noTopic as Error).message).to.equal('publish: record in/1@3 is to be dead-lettered but no deadLetterTopic is set')
  })

  it('commitOffsets: an unrouted failure is fatal unless its own error is marked retriable', async () => {
    const tracker = new OffsetTracker()
    const make = recordBuilder({ topic: 'in' })
    const [a, b] = [make({ offset: 0 }), make({ offset: 1 })]
    tracker.deliver(a)
    tracker.deliver(b)
    const target = { tracker, commit: () => EMPTY }
    const fatal = await errorOf(from([{ item: a, results: [failed(new Error('bad'), 1, 'fail')] }]).pipe(commitOffsets(target, { interval: 0 })))
    expectKafkaRxError(fatal, UnroutedFailureError, 'commitOffsets', false)
    const timeout = Object.assign(new Error('timeout'), { retriable: true })
    const transient = await errorOf(from([{ item: b, results: [failed(timeout, 5, 'fail')] }]).pipe(commitOffsets(target, { interval: 0 })))
    expectKafkaRxError(transient, UnroutedFailureError, 'commitOffsets', true)
  })

  it('fromKafka: a second subscription on a busy consumer is a ConsumerInUseError; a seek while running a SeekRefusedError', async () => {
    const fake = new FakeConsumer({ t: [makeLog([{ offset: 0, key: 'k', value: 'v' }])] })
    const running = fromKafka(fake, { topics: ['t'] })
    const first = running.subscribe()
    const errors: unknown[] = []
    fromKafka(fake, { topics: ['t'] }).subscribe({ error: (e) => errors.push(e) })
    await settle()
    expectKafkaRxError(errors[0], ConsumerInUseError, 'fromKafka', false)
    first.unsubscribe()
    await running.closed()

    const consumer = { seek: () => undefined } as unknown as KafkaConsumerLike
    const restore = refuseSeeks(consumer)
    let refused: unknown
    try {
      consumer.seek!({ topic: 't', partition: 0, offset: '5' })
    } catch (e) {
      refused = e
    }
    restore()
    expectKafkaRxError(refused, SeekRefusedError, 'fromKafka', false)
    expect((refused as SeekRefusedError).target).to.deep.equal({ topic: 't', partition: 0, offset: '5' })
  })

  it('fromKafka: records still unfinished after drainTimeout end the stream with a DrainTimeoutError, not retriable', async () => {
    const fake = new FakeConsumer({ t: [makeLog([{ offset: 0, key: 'k', value: 'v' }])] })
    const abort = new AbortController()
    const source = fromKafka(fake, { topics: ['t'], fromBeginning: true, signal: abort.signal, drainTimeout: 0 })
    const ended = new Subject<unknown>()
    source.subscribe({ error: (e) => ended.next(e) })
    const error = new Promise<unknown>((resolve) => ended.subscribe(resolve))
    await settle()
    await fake.fetch('t', 0, 1)
    abort.abort() // the one record is never finished
    expectKafkaRxError(await error, DrainTimeoutError, 'fromKafka', false)
    expect((await error as DrainTimeoutError).unfinished).to.equal(1)
    await source.closed()
  })
})
