// Every error class kafka-rx exports is a KafkaRxError: an Error with a `stage` its message starts with, and a
// boolean `retriable`; and retriableCause reads the deepest flag of a cause chain (kafkajs wraps its errors).
import { expect } from 'chai'
import fc from 'fast-check'
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs'
import * as api from '../index'
import { KafkaRxError, retriableCause } from '../operators/kafka-rx-error'
import { failed } from '../operators/result'
import { recordBuilder } from '../lib/testing/records'

const origin = recordBuilder({ topic: 'orders' })({ partition: 3, offset: 41, key: 'k' })

/** One instance of each exported error class, made as kafka-rx makes it; `retriable` as it must come out. */
const samples: Record<string, () => { error: Error; retriable: boolean }> = {
  DrainTimeoutError: () => ({ error: new api.DrainTimeoutError(500, 2, [{ topic: 'orders', partition: 3, unfinished: 2, from: '41', committed: '40' }]), retriable: false }),
  ConsumerReuseError: () => ({ error: new api.ConsumerReuseError(new Error('write after end')), retriable: false }),
  ConsumerInUseError: () => ({ error: new api.ConsumerInUseError(), retriable: false }),
  CommitsDelegatedError: () => ({ error: new api.CommitsDelegatedError(), retriable: false }),
  OffsetMapTransactionalError: () => ({ error: new api.OffsetMapTransactionalError(), retriable: false }),
  TransactionsUnsupportedError: () => ({ error: new api.TransactionsUnsupportedError('it is @platformatic/kafka through kafka-rx/platformatic'), retriable: false }),
  SeekRefusedError: () => ({ error: new api.SeekRefusedError({ topic: 'orders', partition: 3, offset: '5' }), retriable: false }),
  PublishSendError: () => ({ error: new api.PublishSendError(['out'], 3, new KafkaJSConnectionError('down')), retriable: true }),
  NoDeadLetterTopicError: () => ({ error: new api.NoDeadLetterTopicError(origin, new Error('poison')), retriable: false }),
  DecodeFailureError: () => ({ error: new api.DecodeFailureError(origin, { part: 'value', cause: new SyntaxError('bad json') }), retriable: false }),
  TransactionFencedError: () => ({ error: new api.TransactionFencedError('tx-orders-3', 3, new Error('PRODUCER_FENCED')), retriable: false }),
  UnroutedFailureError: () => ({ error: new api.UnroutedFailureError(origin, failed(new Error('boom'), 3, 'fail')), retriable: false }),
  BatchError: () => ({ error: new api.BatchError([origin], [origin], new Error('boom')), retriable: false }),
  SequenceError: () => ({ error: new api.SequenceError('orderedMerge: seq 2 of lane orders-0 (epoch 0) arrived twice', 'orders-0', 2), retriable: false }),
}

/** The exported classes that are errors, by name (KafkaRxError itself apart: it is abstract). */
function exportedErrorClasses(): Map<string, Function> {
  const found = new Map<string, Function>()
  for (const [name, value] of Object.entries(api)) {
    if (typeof value === 'function' && value.prototype instanceof Error && value !== KafkaRxError) found.set(name, value)
  }
  return found
}

describe('errors: KafkaRxError', () => {
  it('every error class index.ts exports extends KafkaRxError, and each has a sample here', () => {
    const classes = exportedErrorClasses()
    // A new exported error class must be added to `samples`, so that the checks below cover it.
    expect([...classes.keys()].sort()).to.deep.equal(Object.keys(samples).sort())
    for (const [name, cls] of classes) expect(cls.prototype, name).to.be.instanceOf(api.KafkaRxError)
    expect(api.KafkaRxError).to.equal(KafkaRxError)
  })

  it('each is an Error and a KafkaRxError, named as its class, with a boolean retriable and a stage its message starts with', () => {
    for (const [name, make] of Object.entries(samples)) {
      const { error, retriable } = make()
      expect(error, name).to.be.instanceOf(Error).and.instanceOf(KafkaRxError)
      const e = error as KafkaRxError
      expect(e.name, name).to.equal(name)
      expect(e.retriable, name).to.be.a('boolean').and.equal(retriable)
      expect(e.stage, name).to.be.a('string').and.match(/^[A-Za-z]+$/)
      expect(e.message.startsWith(`${e.stage}: `), `${name}: ${e.message}`).to.equal(true)
    }
  })

  it('keeps the existing names, messages and properties users match on', () => {
    const drain = samples.DrainTimeoutError!().error as api.DrainTimeoutError
    expect(drain.message).to.equal('fromKafka: 2 records still unfinished 500 ms after abort (orders[3]: 2 from offset 41, committed 40); no commit passes them')
    expect([drain.timeout, drain.unfinished, drain.partitions.length]).to.deep.equal([500, 2, 1])
    const send = samples.PublishSendError!().error as api.PublishSendError
    expect([send.topics, send.attempts, (send.cause as Error).message]).to.deep.equal([['out'], 3, 'down'])
    const fenced = samples.TransactionFencedError!().error as api.TransactionFencedError
    expect([fenced.transactionalId, fenced.attempts]).to.deep.equal(['tx-orders-3', 3])
    const unrouted = samples.UnroutedFailureError!().error as api.UnroutedFailureError
    expect(unrouted.record).to.deep.equal({ topic: 'orders', partition: 3, offset: '41', key: 'k' })
    const batch = samples.BatchError!().error as api.BatchError
    expect(batch.message).to.equal('batchByKey: batch of 1 item(s) from 1 record(s) failed: boom')
    const decode = samples.DecodeFailureError!().error as api.DecodeFailureError
    expect([decode.record, decode.part, (decode.cause as Error).name]).to.deep.equal([{ topic: 'orders', partition: 3, offset: '41' }, 'value', 'SyntaxError'])
  })

  describe('retriableCause', () => {
    // Invariant: the answer is the flag of the deepest error of the chain that has one, else the fallback.
    // Mutations caught (each seen failing): reading only the top error's flag (a KafkaJSNumberOfRetriesExceeded
    // over a lost connection would be fatal); the first flag found instead of the deepest; ignoring
    // kafkajs's `originalError` links; ignoring the fallback (`?? true`).
    it('is the deepest retriable flag of the cause chain, else the fallback (property)', () => {
      const link = fc.record({ flag: fc.option(fc.boolean(), { nil: undefined }), via: fc.constantFrom('cause', 'originalError') })
      fc.assert(
        fc.property(fc.array(link, { maxLength: 7 }), fc.boolean(), (links, fallback) => {
          let chain: unknown
          for (let i = links.length - 1; i >= 0; i--) {
            const { flag, via } = links[i]!
            const e = new Error(`level ${i}`) as Error & Record<string, unknown>
            if (flag !== undefined) e.retriable = flag
            if (chain !== undefined) e[via] = chain
            chain = e
          }
          const flags = links.map((l) => l.flag).filter((f): f is boolean => f !== undefined)
          expect(retriableCause(chain, fallback)).to.equal(flags.length === 0 ? fallback : flags[flags.length - 1])
        }),
        { numRuns: 500 },
      )
    })

    it("reads kafkajs's own errors: a retried-out connection loss is retriable, a rejected message is not", () => {
      const lost = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: ECONNREFUSED'), { retryCount: 5, retryTime: 3000 })
      const tooLarge = new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never)
      // kafkajs's retrier bails with the protocol error as cause; its typings omit that second argument.
      const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error
      const bailed = new NonRetriable(tooLarge, { cause: tooLarge })
      expect([lost.retriable, retriableCause(lost, false)]).to.deep.equal([false, true])
      expect(retriableCause(bailed, true)).to.equal(false)
      expect(retriableCause('not an object', true)).to.equal(true)
      expect(new api.PublishSendError(['out'], 1, lost).retriable).to.equal(true)
      expect(new api.PublishSendError(['out'], 1, bailed).retriable).to.equal(false)
      expect(new api.PublishSendError(['out'], 1, new Error('no flag')).retriable).to.equal(true)
    })
  })

  it("isRetriable: a KafkaRxError's own flag, else the cause chain's deepest flag, else false", () => {
    const lost = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('down'), { retryCount: 5, retryTime: 3000 })
    // The KafkaRxError's decision stands, whatever its cause says (a drain timeout has none; a fenced producer's
    // cause may be a retriable-looking kafkajs error).
    const fenced = new api.TransactionFencedError('tx', 3, lost)
    expect([api.isRetriable(fenced), api.isRetriable(lost), api.isRetriable(new Error('boom')), api.isRetriable(undefined)])
      .to.deep.equal([false, true, false, false])
    expect(api.isRetriable(new api.PublishSendError(['out'], 1, lost))).to.equal(true)
  })

  // Invariant: whatever a KafkaRxError is made from, its message starts with its stage and its retriable is a
  // boolean, and building it never throws. Mutations caught (seen failing): BatchError's message without its
// 'batchByKey: ' prefix; `String(cause)` in BatchError (throws for an object without prototype).
  it('messages made from any input name their stage (property)', () => {
    const text = fc.string({ maxLength: 20 })
    const cause = fc.oneof(text.map((m) => new Error(m)), text, fc.constant(undefined), fc.record({ retriable: fc.boolean() }))
    fc.assert(
      fc.property(text, fc.nat(), text, cause, fc.integer({ min: 0, max: 100 }), fc.anything(), (topic, partition, offset, why, n, key) => {
        const at = { topic, partition, offset, seq: 0, epoch: 0, key }
        const errors: KafkaRxError[] = [
          new api.BatchError([at], Array.from({ length: n }, () => at), why),
          new api.PublishSendError([topic], n, why),
          new api.UnroutedFailureError(at, failed(why, n, 'fail')),
          new api.DecodeFailureError(at, { part: 'key', cause: why }),
          new api.NoDeadLetterTopicError(at, why),
          new api.SeekRefusedError({ topic, partition, offset }),
          new api.ConsumerReuseError(why),
          new api.TransactionFencedError(topic, n, why),
        ]
        for (const e of errors) {
          expect(e.message.startsWith(`${e.stage}: `), e.name).to.equal(true)
          expect(e.retriable, e.name).to.be.a('boolean')
        }
      }),
      { numRuns: 300 },
    )
  })
})
