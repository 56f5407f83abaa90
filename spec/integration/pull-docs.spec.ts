// docs/pull.md's example, run as written: its code block is examples/pull-orders.ts (imports aside, which
// name 'kafka-rx' there and '../index' here), checked verbatim, then both functions run on the real broker.
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pullOrderBatches, pullOrders } from '../../examples/pull-orders'
import { testBrokers } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { expectCommittedAtEnd, keyedTopic } from './fixtures/keyed-topic'

const root = resolve(__dirname, '../../..')

describe('docs/pull.md example', function () {
  const clients = suiteClients('pull-docs', {})

  it('is examples/pull-orders.ts verbatim', () => {
    const doc = readFileSync(resolve(root, 'docs/pull.md'), 'utf8')
    const block = /```ts\n([\s\S]*?)```/.exec(doc)?.[1]
    const example = readFileSync(resolve(root, 'examples/pull-orders.ts'), 'utf8').replace("from '../index'", "from 'kafka-rx'")
    expect(block).to.equal(example)
  })

  it('pullOrders handles every order once and ends at lag 0 after an abort', async function () {
    this.timeout(120_000)
    const total = 120
    const { topic, groupId } = await keyedTopic(clients.producer, 'pull-docs-loop', 2, { count: total, keys: 12 })
    const shutdown = new AbortController()
    const handled: string[] = []
    await pullOrders(testBrokers(), topic, groupId, shutdown.signal, async (order) => {
      handled.push(order)
      if (handled.length === total) shutdown.abort()
    })
    expect(new Set(handled).size).to.equal(total)
    await expectCommittedAtEnd(clients.admin, groupId, topic)
  })

  it('pullOrderBatches inserts every order once in batches of at most 50, and ends at lag 0', async function () {
    this.timeout(120_000)
    const total = 300
    const { topic, groupId } = await keyedTopic(clients.producer, 'pull-docs-batches', 2, { count: total, keys: 12 })
    const shutdown = new AbortController()
    const batches: string[][] = []
    await pullOrderBatches(testBrokers(), topic, groupId, shutdown.signal, async (orders) => {
      batches.push(orders)
      if (batches.flat().length === total) shutdown.abort()
    })
    expect(new Set(batches.flat()).size).to.equal(total)
    expect(batches.every((b) => b.length >= 1 && b.length <= 50)).to.equal(true)
    await expectCommittedAtEnd(clients.admin, groupId, topic)
  })
})
