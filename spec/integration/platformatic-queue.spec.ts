// The platformatic adapter's own back-pressure, on a real broker: with a `maxQueued` far below what one fetch
// brings, the adapter pauses the client's stream (it stops fetching) and resumes it as kafka-rx resolves
// messages, many times over one run; every record still comes once per partition, in offset order, and the
// group commits the end offsets. Caught mutations (each tried by hand in the built adapter, seen to fail,
// undone): #makeRoom never resuming the stream (the run stalls: timeout); the push stamps one out of step
// with the stream (a message taken as pushed before the watch and dropped: the run stalls short of the end).
import { expect } from 'chai'
import { tap } from 'rxjs'
import { platformaticConsumer } from '../../lib/client/platformatic'
import type { PlatformaticConsumer, PlatformaticMessagesStream } from '../../lib/client/platformatic/platformatic-types'
import { fromKafka } from '../../lib/source/from-kafka'
import { commitOffsets } from '../../operators/commit-offsets'
import { testBrokers, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { platformaticSupported } from './fixtures/each-client'
import { expectCommittedAtEnd, keyedTopic } from './fixtures/keyed-topic'
import { runToEnd } from './fixtures/run-to-end'

describe(`integration: platformatic adapter, maxQueued${platformaticSupported ? '' : ` (skipped: @platformatic/kafka needs Node >= 22.22, this is ${process.version})`}`, function () {
  const clients = suiteClients('platformatic-queue')
  before(function () {
    if (!platformaticSupported) this.skip()
  })

  it('pauses the stream at maxQueued and resumes it, delivering every offset once and in order', async () => {
    const { Consumer } = await import('@platformatic/kafka')
    const partitions = 3
    const total = 3_000
    const { topic, groupId } = await keyedTopic(clients.producer, 'platformatic-queue', partitions, { count: total, keys: 30 })
    const client = new Consumer({ groupId, clientId: uniqueName('platformatic'), bootstrapBrokers: testBrokers(), maxWaitTime: 500, groupProtocol: 'consumer' })
    // The stream the adapter consumes, to count its pause() and resume() calls.
    let pauses = 0
    let resumes = 0
    const consume = client.consume.bind(client) as PlatformaticConsumer['consume']
    ;(client as unknown as PlatformaticConsumer).consume = async (options) => {
      const stream: PlatformaticMessagesStream = await consume(options)
      const pause = stream.pause.bind(stream)
      const resume = stream.resume.bind(stream)
      stream.pause = () => (pauses++, pause())
      stream.resume = () => (resumes++, resume())
      return stream
    }
    const source = fromKafka(platformaticConsumer(client, { maxQueued: 50 }), { topics: [topic], fromBeginning: true, maxInFlight: 50 })
    const next = new Map<number, number>()
    const disorder: string[] = []
    let processed = 0
    let failure: unknown
    const subscription = source
      .pipe(
        tap((r) => {
          const offset = Number(r.offset)
          const expected = next.get(r.partition) ?? 0
          if (offset !== expected) disorder.push(`${r.partition}@${offset}, expected @${expected}`)
          next.set(r.partition, offset + 1)
          processed++
        }),
        commitOffsets(source, { interval: 100 }),
      )
      .subscribe({ error: (e) => (failure = e) })
    await runToEnd(source, subscription, () => processed >= total, 'every record processed', () => failure)
    expect(failure).to.equal(undefined)
    expect(disorder.slice(0, 5)).to.deep.equal([])
    expect(processed).to.equal(total)
    expect(pauses).to.be.greaterThan(1)
    expect(resumes).to.be.greaterThan(1)
    await expectCommittedAtEnd(clients.admin, groupId, topic)
  })
})
