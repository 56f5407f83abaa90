// The @platformatic/kafka adapter refuses publishTransactional: a source on it errors with a
// TransactionsUnsupportedError naming the client and what kafka-rx lacks for it, raised when the
// transactional stream is subscribed, before the client is asked for anything (no consume(), so no record is
// read) and before any transactional producer is made. No broker is needed: the refusal comes first.
//
// Mutations seen caught (each made by hand, seen failing, undone): the check in
// KafkaSourceObservable.delegateCommits removed (the first case: no error when the transactional stream is
// subscribed);
// the check in KafkaSourceObservable#open removed (the factory case reads from the client); the
// `transactionsUnsupported` line removed from platformaticConsumer (both cases).
import { expect } from 'chai'
import { map } from 'rxjs'
import { platformaticConsumer, type PlatformaticConsumer } from '../lib/client/platformatic'
import type { TransactionalProducerLike } from '../lib/client/transactions'
import { fromKafka } from '../lib/source/from-kafka'
import { TransactionsUnsupportedError } from '../lib/source/transactions-unsupported-error'
import { publishTransactional } from '../lib/transactions/publish-transactional'
import { forward } from '../operators/result'

/** A @platformatic/kafka consumer that records what it is asked; it never has a record to give. */
function idleClient(): { consumer: PlatformaticConsumer; calls: string[] } {
  const calls: string[] = []
  const consumer: PlatformaticConsumer = {
    groupId: 'g',
    assignments: null,
    consume: async () => {
      calls.push('consume')
      throw new Error('consume() must not be reached')
    },
    commit: async () => void calls.push('commit'),
    close: async () => void calls.push('close'),
  }
  return { consumer, calls }
}

describe('kafka-rx/platformatic and publishTransactional', () => {
  const made: string[] = []
  const producer = (id: string): TransactionalProducerLike => {
    made.push(id)
    throw new Error('no producer may be made')
  }
  const admin = { fetchOffsets: async () => [] }
  const options = { consumerGroupId: 'g', topic: 'out', producer, admin }
  beforeEach(() => void made.splice(0))

  /** Subscribes a forwarding publishTransactional pipeline over `source`; returns the errors it gets. */
  const subscribeTransactional = (source: ReturnType<typeof fromKafka>): unknown[] => {
    const errors: unknown[] = []
    source
      .pipe(
        map((item) => ({ item, results: [forward({ key: item.key as Buffer | null, value: item.value as Buffer | null })] })),
        publishTransactional(source, options),
      )
      .subscribe({ error: (e: unknown) => errors.push(e) })
    return errors
  }

  const expectRefusal = (errors: unknown[], calls: string[]): void => {
    expect(errors).to.have.length(1)
    const error = errors[0] as TransactionsUnsupportedError
    expect(error).to.be.instanceOf(TransactionsUnsupportedError)
    expect(error.stage).to.equal('publishTransactional')
    expect(error.retriable).to.equal(false)
    expect(error.message).to.match(/^publishTransactional: /)
    expect(error.message).to.include('@platformatic/kafka').and.to.include('kafka-rx/platformatic').and.to.include('transactions')
    expect(calls, 'calls to the client').to.deep.equal([])
    expect(made, 'transactional producers made').to.deep.equal([])
  }

  it('refuses a source on one adapted consumer when the transactional stream is subscribed, before reading', () => {
    const { consumer, calls } = idleClient()
    const source = fromKafka(platformaticConsumer(consumer), { topics: ['in'] })
    const errors = subscribeTransactional(source)
    expectRefusal(errors, calls)
  })

  it('refuses a source on a factory of adapted consumers when the factory is called, before reading', async () => {
    const { consumer, calls } = idleClient()
    const source = fromKafka(() => platformaticConsumer(consumer), { topics: ['in'] })
    const errors = subscribeTransactional(source)
    // The input's error reaches the subscriber once the (no) producers are closed: a promise later.
    await new Promise((resolve) => setImmediate(resolve))
    expectRefusal(errors, calls)
  })
})
