// Smoke test of the test broker and of kafkajs against it: everything kafka-rx relies on (12-partition
// topics, produce, group consumption with autoCommit off, manual commits with metadata read back by the
// admin, a rebalance, transactions with sendOffsets). Run against 3.9.1 and 4.1.1 by
// scripts/test-kafka-versions.sh: kafkajs 2.2.4 predates Kafka 4, which dropped old protocol versions.
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs'
import { startKafka } from '../../lib/testing/kafka-broker'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { cleanupAfterEach } from './fixtures/cleanup'

const PARTITIONS = 12

describe('integration: test broker', () => {
  let kafka: Kafka
  const cleanup = cleanupAfterEach()

  before(() => {
    kafka = testKafka('broker-smoke')
  })

  it('produces, consumes in a group, commits, reads commits back and survives a rebalance', async () => {
    const topic = await createTopic('smoke', PARTITIONS)
    const groupId = uniqueName('smoke-group')
    // Idempotent: a retried request must not write records twice (see createTopic), the test counts them.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    cleanup.push(() => producer.disconnect())
    const firstBatch = messages(PARTITIONS * 5, 'first')
    await producer.send({ topic, messages: firstBatch })

    // One consumer owns all partitions, reads everything, and commits what it read.
    const a = member(kafka, groupId)
    cleanup.push(() => a.consumer.disconnect())
    await a.consumer.subscribe({ topics: [topic], fromBeginning: true })
    await a.consumer.run({ autoCommit: false, eachMessage: async payload => void a.received.push(payload) })
    await waitFor(() => a.received.length >= firstBatch.length, 'consumer a to read the first batch')
    expect(a.received, `read by a (group joins: ${a.joins})`).to.have.length(firstBatch.length)
    expect(a.assigned()).to.have.length(PARTITIONS)

    const next = nextOffsets(a.received)
    await a.consumer.commitOffsets(
      [...next].map(([partition, offset]) => ({ topic, partition, offset, metadata: `smoke ${partition}` })),
    )
    const admin = kafka.admin()
    await admin.connect()
    cleanup.push(() => admin.disconnect())
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    expect(committed.topic).to.equal(topic)
    expect(sorted(committed.partitions)).to.deep.equal(
      sorted([...next].map(([partition, offset]) => ({ partition, offset, metadata: `smoke ${partition}` }))),
    )
    const highWatermarks = await admin.fetchTopicOffsets(topic)
    for (const { partition, high } of highWatermarks) expect(next.get(partition)).to.equal(high)

    // A second member joins: the partitions are split between the two, and neither sees committed records.
    const b = member(kafka, groupId)
    cleanup.push(() => b.consumer.disconnect())
    await b.consumer.subscribe({ topics: [topic], fromBeginning: true })
    const joinsBefore = a.joins
    await b.consumer.run({ autoCommit: false, eachMessage: async payload => void b.received.push(payload) })
    await waitFor(
      () => a.joins > joinsBefore && b.joins > 0 && a.assigned().length + b.assigned().length === PARTITIONS,
      'the group to rebalance over both members',
    )
    expect(a.assigned()).to.not.be.empty
    expect(b.assigned()).to.not.be.empty
    expect([...a.assigned(), ...b.assigned()].sort((x, y) => x - y)).to.deep.equal(range(PARTITIONS))

    const readByA = a.received.length
    const secondBatch = messages(PARTITIONS * 2, 'second')
    await producer.send({ topic, messages: secondBatch })
    await waitFor(
      () => a.received.length - readByA + b.received.length >= secondBatch.length,
      'both members to read the second batch',
    )
    const afterRebalance = [...a.received.slice(readByA), ...b.received]
    expect(afterRebalance.map(p => p.message.value!.toString()).sort()).to.deep.equal(
      secondBatch.map(m => m.value).sort(),
    )
    for (const p of b.received) expect(b.assigned()).to.include(p.partition)
  })

  it('runs a transaction that commits consumer offsets (sendOffsets)', async () => {
    const topic = await createTopic('smoke-tx', 3)
    const groupId = uniqueName('smoke-tx-group')
    const producer = kafka.producer({
      transactionalId: uniqueName('smoke-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await producer.connect()
    cleanup.push(() => producer.disconnect())

    const aborted = await producer.transaction()
    await aborted.send({ topic, messages: [{ value: 'aborted', partition: 0 }] })
    await aborted.abort()

    const tx = await producer.transaction()
    await tx.send({ topic, messages: [0, 1, 2].map(partition => ({ value: `committed ${partition}`, partition })) })
    await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 1, offset: '7' }] }] })
    await tx.commit()

    const admin = kafka.admin()
    await admin.connect()
    cleanup.push(() => admin.disconnect())
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    expect(offsets.partitions.find(p => p.partition === 1)?.offset).to.equal('7')

    // read_committed (kafkajs's default) sees only the committed records.
    const reader = member(kafka, uniqueName('smoke-tx-reader'))
    cleanup.push(() => reader.consumer.disconnect())
    await reader.consumer.subscribe({ topics: [topic], fromBeginning: true })
    await reader.consumer.run({ eachMessage: async payload => void reader.received.push(payload) })
    await waitFor(() => reader.received.length >= 3, 'the committed records')
    expect(reader.received.map(p => p.message.value!.toString()).sort()).to.deep.equal([
      'committed 0',
      'committed 1',
      'committed 2',
    ])
  })

  it('startKafka starts a broker of its own, and stop() ends the process and deletes its data dir', async function () {
    // CI runs the suite against a broker started by the CLI; this keeps the in-process path tested too.
    if (spawnSync('java', ['-version']).status !== 0) this.skip()
    const local = await startKafka()
    let stopped = false
    try {
      expect(local.brokers).to.have.length(1)
      expect(fs.existsSync(local.dataDir!)).to.equal(true)
      const admin = new Kafka({ brokers: local.brokers, logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      try {
        expect(await admin.listTopics()).to.not.include('no-such-topic')
      } finally {
        await admin.disconnect()
      }
      await local.stop()
      stopped = true
      expect(isRunning(local.pid!)).to.equal(false)
      expect(fs.existsSync(local.dataDir!)).to.equal(false)
      await local.stop() // idempotent
    } finally {
      if (!stopped) await local.stop()
    }
  })
})

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // Reaped by us (the parent) once 'exit' fired, but be tolerant of a zombie on odd systems.
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

interface Member {
  readonly consumer: Consumer
  readonly received: EachMessagePayload[]
  /** Partitions of the latest GROUP_JOIN (the smoke topics are the only subscription). */
  assigned(): number[]
  readonly joins: number
}

function member(kafka: Kafka, groupId: string): Member {
  // Short waits so that a rebalance is noticed in about a second instead of after a 5 s fetch long-poll.
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 250 })
  const state = { consumer, received: [] as EachMessagePayload[], joins: 0, partitions: [] as number[] }
  consumer.on(consumer.events.GROUP_JOIN, event => {
    state.partitions = Object.values(event.payload.memberAssignment).flat().sort((x, y) => x - y)
    state.joins++
  })
  return {
    consumer,
    received: state.received,
    assigned: () => state.partitions,
    get joins() {
      return state.joins
    },
  }
}

function messages(count: number, tag: string): Array<{ key: string; value: string; partition: number }> {
  return range(count).map(i => ({ key: `k${i}`, value: `${tag} ${i}`, partition: i % PARTITIONS }))
}

function nextOffsets(received: EachMessagePayload[]): Map<number, string> {
  const next = new Map<number, string>()
  for (const { partition, message } of received) {
    const candidate = (BigInt(message.offset) + 1n).toString()
    if (!next.has(partition) || BigInt(candidate) > BigInt(next.get(partition)!)) next.set(partition, candidate)
  }
  return next
}

function sorted<T extends { partition: number }>(items: T[]): T[] {
  return [...items].sort((x, y) => x.partition - y.partition)
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

/** Polls until `done()` holds; the timeout only turns a hang into a readable failure. */
async function waitFor(done: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
