import { expect } from 'chai'
import { from, lastValueFrom, Subject, toArray } from 'rxjs'
import { publishTransactional, type TransactionalSource } from '../lib/transactions/publish-transactional'
import { TransactionFencedError } from '../lib/transactions/fenced-error'
import { OffsetMapTransactionalError } from '../lib/source/offset-map-transactional-error'
import { fromKafka } from '../lib/source/from-kafka'
import { FakeConsumer } from './fixtures/fake-consumer'
import type { TransactionLike, TransactionalProducerLike } from '../lib/client/transactions'
import type { TopicMessagesLike } from '../lib/client/producer'
import type { Processed } from '../operators/processed'
import type { RecordOrigin, TrackedCommitOffset } from '../operators/record-origin'
import { forward, type OutputMessage, type Result } from '../operators/result'
import { recordBuilder, type TestRecord } from '../lib/testing/records'

type In = Processed<TestRecord, Result<OutputMessage>>

/**
 * A broker that keeps what committed transactions wrote and the group's committed offsets. `failCommits`
 * commits fail (after applying, when `lostAck`: the broker committed, the client never heard).
 */
class FakeBroker {
  readonly written: string[] = []
  readonly offsets = new Map<string, string>()
  readonly made: string[] = []
  failCommits = 0
  lostAck = false
  fence = false
  producer = (id: string): TransactionalProducerLike => {
    this.made.push(id)
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      transaction: async (): Promise<TransactionLike> => {
        let messages: TopicMessagesLike[] = []
        let offsets: [string, string][] = []
        return {
          sendBatch: async (b) => {
            if (this.fence) throw Object.assign(new Error('fenced'), { type: 'INVALID_PRODUCER_EPOCH' })
            messages = messages.concat(b.topicMessages)
          },
          sendOffsets: async (o) => void (offsets = o.topics.flatMap((t) => t.partitions.map((p) => [`${t.topic}/${p.partition}`, p.offset] as [string, string]))),
          commit: async () => {
            const apply = (): void => {
              for (const t of messages) for (const m of t.messages) this.written.push(String(m.value))
              for (const [k, v] of offsets) this.offsets.set(k, v)
            }
            if (this.failCommits > 0) {
              this.failCommits--
              if (this.lostAck) apply()
              throw new Error('REQUEST_TIMED_OUT')
            }
            apply()
          },
          abort: async () => undefined,
        }
      },
    }
  }
  admin = {
    fetchOffsets: async ({ topics }: { groupId: string; topics: string[] }) => topics.map((topic) => ({
      topic,
      partitions: [...this.offsets].filter(([k]) => k.startsWith(`${topic}/`)).map(([k, offset]) => ({ partition: Number(k.split('/')[1]), offset })),
    })),
  }
}

type Delegate = Parameters<TransactionalSource['delegateCommits']>[0]

function fakeSource(stale: (r: RecordOrigin) => boolean = () => false) {
  const finished: string[] = []
  const committed: TrackedCommitOffset[] = []
  const delegates: (Delegate | undefined)[] = []
  const source: TransactionalSource = {
    tracker: { finish: (r) => (finished.push(`${r.partition}@${r.offset}`), true), committed: (o) => void committed.push(...o) },
    isStale: stale,
    delegateCommits: (to) => {
      delegates.push(to)
      return () => void delegates.push(undefined)
    },
  }
  return { source, finished, committed, delegates }
}

function inputs(perPartition: number[]): In[] {
  const make = recordBuilder({ topic: 'in' })
  const out: In[] = []
  perPartition.forEach((n, partition) => {
    for (let i = 0; i < n; i++) {
      const item = make({ partition, key: `k${i}`, value: `${partition}:${i}` })
      out.push({ item, results: [forward({ key: item.key, value: `${partition}:${i}` })] })
    }
  })
  return out
}

const quick = { consumerGroupId: 'g', topic: 'out', interval: 0, backoff: () => 0 }

describe('publishTransactional', () => {
  it('collapses each partition into transactions of at most maxBatchSize records, committing the offset past each', async () => {
    const broker = new FakeBroker()
    const { source, finished, committed } = fakeSource()
    const commits = await lastValueFrom(from(inputs([10, 5])).pipe(
      publishTransactional(source, { ...quick, maxBatchSize: 4, producer: broker.producer, admin: broker.admin }), toArray(),
    ))
    expect(commits.map((c) => [c.partition, c.records, c.offset])).to.have.deep.members([
      [0, 4, '4'], [0, 4, '8'], [0, 2, '10'], [1, 4, '4'], [1, 1, '5'],
    ])
    expect(broker.written.slice().sort()).to.deep.equal(inputs([10, 5]).map((i) => i.item.value).sort())
    expect([...broker.offsets]).to.have.deep.members([['in/0', '10'], ['in/1', '5']])
    expect(finished).to.have.length(15) // released only once committed
    expect(committed.filter((c) => c.partition === 0).map((c) => c.offset)).to.deep.equal(['4', '8', '10'])
    expect(broker.made).to.have.members(['g-in-0', 'g-in-1']) // one producer per input partition
  })

  // Mutation seen caught: not reading the committed offset again on the new producer (#floor kept on
  // retire): the records of the lost-acknowledgement transaction were written twice.
  it('a commit whose acknowledgement was lost is not written again: the retry reads the committed offset and skips', async () => {
    const broker = new FakeBroker()
    broker.failCommits = 1
    broker.lostAck = true
    const { source } = fakeSource()
    const commits = await lastValueFrom(from(inputs([3])).pipe(
      publishTransactional(source, { ...quick, producer: broker.producer, admin: broker.admin }), toArray(),
    ))
    expect(broker.written).to.deep.equal(['0:0', '0:1', '0:2'])
    expect(commits.map((c) => [c.records, c.skipped, c.attempts, c.offset])).to.deep.equal([[3, 3, 2, undefined]])
    expect(broker.made).to.deep.equal(['g-in-0', 'g-in-0']) // a new producer for the retry
  })

  it('a failed commit is aborted and retried: its records are written once', async () => {
    const broker = new FakeBroker()
    broker.failCommits = 2
    const { source } = fakeSource()
    await lastValueFrom(from(inputs([4])).pipe(publishTransactional(source, { ...quick, producer: broker.producer, admin: broker.admin }), toArray()))
    expect(broker.written).to.deep.equal(['0:0', '0:1', '0:2', '0:3'])
  })

  it('errors with a TransactionFencedError naming the transactionalId when fenced on every attempt while owned', async () => {
    const broker = new FakeBroker()
    broker.fence = true
    const { source } = fakeSource()
    const error = await lastValueFrom(from(inputs([2])).pipe(
      publishTransactional(source, { ...quick, maxAttempts: 3, producer: broker.producer, admin: broker.admin }),
    )).then(() => undefined, (e: unknown) => e)
    expect(error).to.be.instanceOf(TransactionFencedError)
    expect(String(error)).to.match(/'g-in-0' was fenced 3 times/)
    expect(broker.written).to.deep.equal([])
  })

  // Mutation seen caught: both isStale checks of the failure path removed, so a failed transaction of a
  // revoked partition is retried (its records then committed
  // by a member that no longer owns them).
  it('drops, without error, the records of a fenced transaction whose partition was revoked', async () => {
    const broker = new FakeBroker()
    broker.fence = true
    let revoked = false
    const { source, finished } = fakeSource(() => revoked)
    const producer = (id: string): TransactionalProducerLike => {
      revoked = true // the rebalance came while the transaction was out
      return broker.producer(id)
    }
    const commits = await lastValueFrom(from(inputs([2])).pipe(
      publishTransactional(source, { ...quick, producer, admin: broker.admin }), toArray(),
    ))
    expect(commits).to.deep.equal([])
    expect(broker.made).to.have.length(1)
    expect(finished).to.have.length(2) // released, for the in-flight budget
  })

  // The source's own commits (an assignment's start position) go through the partition's fenced producer.
  // Mutations seen caught: the delegate not registered (no commit of the start position at all, the first
  // expectation); the committed offset not read before it (the group's 7 rewound to 3, the second).
  it("takes over the source's own commits: a start position is committed in a transaction, never below the group's commit", async () => {
    const broker = new FakeBroker()
    const { source, delegates } = fakeSource()
    const subject = new Subject<In>()
    const commits: unknown[] = []
    const sub = subject.pipe(publishTransactional(source, { ...quick, producer: broker.producer, admin: broker.admin })).subscribe((c) => commits.push(c))
    const delegate = delegates[0]!
    expect(await delegate.commit([{ topic: 'in', partition: 0, offset: '3', epoch: 1 }])).to.deep.equal([{ topic: 'in', partition: 0, offset: '3', epoch: 1 }])
    expect(broker.offsets.get('in/0')).to.equal('3')
    broker.offsets.set('in/1', '7') // the old owner's transaction committed 7 after this member fetched 3
    expect(await delegate.commit([{ topic: 'in', partition: 1, offset: '3', epoch: 1 }])).to.have.length(1)
    expect(broker.offsets.get('in/1')).to.equal('7')
    expect(broker.made).to.deep.equal(['g-in-0', 'g-in-1'])
    subject.complete()
    sub.unsubscribe()
    expect(delegates[delegates.length - 1]).to.equal(undefined) // given back when the stream ended
    expect(await delegate.commit([{ topic: 'in', partition: 2, offset: '0', epoch: 1 }])).to.deep.equal([]) // ended: nothing
    expect(commits).to.deep.equal([])
  })

  it('does not commit the start position of a partition revoked meanwhile', async () => {
    const broker = new FakeBroker()
    const { source, delegates } = fakeSource((r) => r.partition === 1)
    const sub = new Subject<In>().pipe(publishTransactional(source, { ...quick, producer: broker.producer, admin: broker.admin })).subscribe()
    expect(await delegates[0]!.commit([{ topic: 'in', partition: 1, offset: '3', epoch: 1 }])).to.deep.equal([])
    expect(broker.offsets.size).to.equal(0)
    sub.unsubscribe()
  })

  it('refuses records out of partition order, naming orderedMerge, after committing what came before', async () => {
    const broker = new FakeBroker()
    const { source } = fakeSource()
    const [a, b, c] = inputs([3])
    const error = await lastValueFrom(from([a!, c!, b!]).pipe(publishTransactional(source, { ...quick, producer: broker.producer, admin: broker.admin })))
      .then(() => undefined, (e: unknown) => e)
    expect(String(error)).to.match(/out of delivery order.*orderedMerge/)
    expect(broker.written).to.deep.equal(['0:0'])
  })

  it('checks its options at call time, naming the option and what it got', () => {
    const { source } = fakeSource()
    const broker = new FakeBroker()
    expect(() => publishTransactional(source, { ...quick, consumerGroupId: '', producer: broker.producer, admin: broker.admin })).to.throw(TypeError, /consumerGroupId.*got/)
    expect(() => publishTransactional(source, { ...quick, maxBatchSize: 0, producer: broker.producer, admin: broker.admin })).to.throw(RangeError, /maxBatchSize.*got 0/)
  })
})

// Mutation seen caught: the offsetMap check in KafkaSourceObservable.delegateCommits removed: the stream
// subscribes and no error names the combination.
describe('publishTransactional with an offsetMap source', () => {
  it('errors at subscribe with an OffsetMapTransactionalError naming both, before reading any record', async () => {
    const broker = new FakeBroker()
    const consumer = new FakeConsumer()
    const admin = { fetchOffsets: async () => [] }
    const source = fromKafka(consumer, { topics: ['in'], offsetMap: { admin, groupId: 'g' } })
    const errors: unknown[] = []
    from(inputs([1])).pipe(publishTransactional(source, { ...quick, producer: broker.producer, admin: broker.admin }))
      .subscribe({ error: (e: unknown) => errors.push(e) })
    expect(errors).to.have.length(1)
    const error = errors[0] as OffsetMapTransactionalError
    expect(error).to.be.instanceOf(OffsetMapTransactionalError)
    expect(error.message).to.match(/publishTransactional/).and.to.match(/offsetMap/)
    expect(error.stage).to.equal('publishTransactional')
    expect(error.retriable).to.equal(false)
    expect(broker.made).to.deep.equal([]) // no producer was made
  })
})
