import { expect } from 'chai'
import type { PartitionEvent } from '../operators/interjections'
import { fromKafka } from '../lib/source/from-kafka'
import { FakeConsumer } from './fixtures/fake-consumer'

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}
const show = (e: PartitionEvent): string => `${e.type} ${e.topic}${e.partition}@${e.epoch}`

describe('fromKafka: assignments (fake consumer)', () => {
  it('emits assigned at GROUP_JOIN, revoked at a rebalance and at shutdown, and replays ownership to a late subscriber', async () => {
    const fake = new FakeConsumer({ t: [[], []] })
    const source = fromKafka(fake, { topics: ['t'] })
    const early: string[] = []
    const events = source.assignments.subscribe((e) => early.push(show(e)))
    const sub = source.subscribe()
    await settle()
    fake.join({ t: [1] })
    const late: string[] = []
    source.assignments.subscribe((e) => late.push(show(e))).unsubscribe()
    sub.unsubscribe()
    await source.closed()
    events.unsubscribe()
    expect(early).to.deep.equal(['assigned t0@1', 'assigned t1@1', 'revoked t0@1', 'revoked t1@1', 'assigned t1@2', 'revoked t1@2'])
    expect(late).to.deep.equal(['assigned t1@2'])
  })

  it('revokes everything at shutdown with a client that sends no STOP event', async () => {
    class SilentStop extends FakeConsumer {
      override async stop(): Promise<void> {
        this.running = false
      }
    }
    const fake = new SilentStop({ t: [[]] })
    const source = fromKafka(fake, { topics: ['t'] })
    const seen: string[] = []
    source.assignments.subscribe((e) => seen.push(show(e)))
    const sub = source.subscribe()
    await settle()
    sub.unsubscribe()
    await source.closed()
    expect(seen).to.deep.equal(['assigned t0@1', 'revoked t0@1'])
  })
})
