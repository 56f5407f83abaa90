/**
 * Mocha root hooks for the integration tests (loaded by `.mocharc.json`'s `require`), and the helpers the
 * integration specs use to reach the broker.
 *
 * Before all tests: the broker from env `KAFKA_BROKERS`, else a local one (version env `KAFKA_VERSION`, else
 * the default), see lib/testing/kafka-broker.ts. Its address is put into `process.env.KAFKA_BROKERS`, so
 * child processes started by tests inherit it. After all tests the local broker is stopped.
 *
 * Set `KAFKA_RX_TEST_LOG=error|warn|info|debug` to see the kafkajs clients' logs (silent by default:
 * kafkajs logs normal rebalances as errors).
 */
import { randomBytes } from 'node:crypto'
import { Kafka, logLevel, type Admin, type ITopicConfig } from 'kafkajs'
import { ensureKafka, type LocalKafka } from '../../lib/testing/kafka-broker'

let broker: LocalKafka | undefined
let previousBrokers: string | undefined

/**
 * Root hooks: start (or find) the broker once before all tests, stop it after all tests.
 *
 * @example
 * // .mocharc.json
 * { "require": ["dist/spec/integration/broker-hooks.js"] }
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    // The first run on a fresh machine downloads ~45 MB of jars before the JVM starts.
    this.timeout(10 * 60_000)
    previousBrokers = process.env.KAFKA_BROKERS
    broker = await ensureKafka({ log: process.env.CI ? 'inherit' : 'quiet' })
    process.env.KAFKA_BROKERS = broker.brokers.join(',')
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000)
    const stopping = broker
    broker = undefined
    if (previousBrokers === undefined) delete process.env.KAFKA_BROKERS
    else process.env.KAFKA_BROKERS = previousBrokers
    await stopping?.stop()
  },
}

/**
 * The brokers the tests use (env `KAFKA_BROKERS`, set by the root hook).
 *
 * @example
 * new Kafka({ brokers: testBrokers() })
 */
export function testBrokers(): string[] {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (brokers.length === 0) {
    throw new Error('KAFKA_BROKERS is not set: run integration tests through mocha with .mocharc.json (broker-hooks)')
  }
  return brokers
}

/**
 * A kafkajs client for the test broker: silent unless `KAFKA_RX_TEST_LOG` says otherwise, with short
 * retries so that a broken test fails in seconds rather than minutes.
 *
 * @example
 * const consumer = testKafka('orders-test').consumer({ groupId: uniqueName('group') })
 */
export function testKafka(clientId: string = uniqueName('kafka-rx-test')): Kafka {
  return new Kafka({
    clientId,
    brokers: testBrokers(),
    logLevel: testLogLevel(),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  })
}

/**
 * Creates a topic with a name unique to this call (`<name>-<random>`), waits until every partition accepts
 * requests, and returns the name. `config` sets topic configs, e.g. `{ 'cleanup.policy': 'compact' }`.
 *
 * Why more than `waitForLeaders`: in KRaft the leader shows in metadata a moment before the partition is
 * ready on the broker, and a produce in that moment fails with NOT_LEADER_OR_FOLLOWER. kafkajs then retries
 * the whole request to that broker, so a producer without `idempotent: true` writes the partitions that had
 * succeeded twice (seen in the smoke test). Use `idempotent: true` where a test counts records.
 *
 * @example
 * const topic = await createTopic('orders', 12)
 * await producer.send({ topic, messages })
 */
export async function createTopic(name: string, partitions = 1, config: Record<string, string> = {}): Promise<string> {
  const topic = uniqueName(name)
  const admin = testKafka('kafka-rx-test-admin').admin()
  await admin.connect()
  try {
    const spec: ITopicConfig = {
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      configEntries: Object.entries(config).map(([key, value]) => ({ name: key, value })),
    }
    const created = await admin.createTopics({ topics: [spec], waitForLeaders: true })
    if (!created) throw new Error(`topic ${topic} already exists`)
    await untilPartitionsAnswer(admin, topic, partitions)
    return topic
  } finally {
    await admin.disconnect()
  }
}

/** Asks every partition's leader for its offsets (ListOffsets) until all answer. */
async function untilPartitionsAnswer(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const offsets = await admin.fetchTopicOffsets(topic)
      if (offsets.length === partitions) return
    } catch (error) {
      // NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION while the broker applies the new metadata (kafkajs
      // does not retry these here); anything still failing at the deadline is real.
      if (Date.now() > deadline) throw error
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic}: not every partition answered within 30 s`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/**
 * `<prefix>-<random>`: for topic, group and client names that must not collide across tests and runs
 * (a broker from `KAFKA_BROKERS` may outlive many runs).
 *
 * @example
 * const groupId = uniqueName('billing')
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`
}

function testLogLevel(): logLevel {
  switch ((process.env.KAFKA_RX_TEST_LOG ?? '').toLowerCase()) {
    case 'debug': return logLevel.DEBUG
    case 'info': return logLevel.INFO
    case 'warn': return logLevel.WARN
    case 'error': return logLevel.ERROR
    default: return logLevel.NOTHING
  }
}
