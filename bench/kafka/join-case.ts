/**
 * The mid-stream join measure (issue 19), one client per run, in a child process of its own:
 * `node dist/bench/kafka/join-case.js '<JoinSpec as JSON>'` prints one {@link JoinResult} as a JSON line.
 *
 * Records are produced at a steady rate (`ratePerS`, spread evenly over the partitions, by a kafkajs producer
 * for every client alike) while member A consumes them live through kafka-rx (fromKafka, groupByKeyConcat on
 * recordKey with `workMs` of asynchronous work per record, orderedMerge, commitOffsets). Once A has run
 * steadily for `steadyMs`, member B (the same pipeline, the same group) is subscribed: that is the join. The
 * run goes on `afterMs` past B's first record, then production stops and the case waits until every record
 * produced has been finished by one member or the other. Every delivery (the work starting) is logged with
 * its member and times; join-analysis.ts turns that log into the figures.
 *
 *     produced   p0 p1 ... p5  steadily ------------------------------------------|
 *     member A   ---- steady (steadyMs) ----|join ... window ...|---- afterMs ----|drain
 *     member B                              |subscribe ... first record|--------->|drain
 */
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import type { KafkaConsumerLike } from '../../lib/client/consumer'
// The adapter alone does not load @platformatic/kafka (Node >= 22.22 only): that is imported when it runs.
import { platformaticConsumer } from '../../lib/client/platformatic'
import { recordKey } from '../../lib/record/record-key'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { analyseJoin, type Delivery, type JoinFigures } from './join-analysis'
import type { BenchClient } from './runtime'

/** What a join child process is asked to run. */
export interface JoinSpec {
  /** kafkajs rebalances eagerly; platformatic runs with `groupProtocol: 'consumer'` (KIP-848). */
  client: BenchClient
  brokers: string[]
  /** A fresh topic the case creates, and the group's name. */
  topic: string
  partitions: number
  /** Records produced per second, over all partitions. */
  ratePerS: number
  /** Asynchronous work per record, in ms. */
  workMs: number
  /** A's steady span before the join (the steady rate's span), after its first record and a 1 s settle. */
  steadyMs: number
  /** How long the run goes on after B's first record. */
  afterMs: number
  /** Give up after this many ms. */
  timeoutMs: number
}

/** One join run's figures, as the child prints them. */
export interface JoinResult extends JoinFigures {
  client: BenchClient
  protocol: 'eager (classic)' | 'KIP-848 (consumer)'
  produced: number
  /** Records produced that no member finished (must be 0). */
  unfinished: number
  deliveries: number
  /** False when B delivered nothing before the timeout (no window, no moved partitions). */
  second_delivered: boolean
}

const KEYS = 120
const SETTLE_MS = 1_000
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs one join and resolves with its figures. */
export async function runJoinCase(spec: JoinSpec): Promise<JoinResult> {
  const kafka = new Kafka({ clientId: `bench-join-${spec.client}`, brokers: spec.brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: spec.topic, numPartitions: spec.partitions }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()

  const deliveries: Delivery[] = []
  const finished = new Set<string>()
  const deadline = performance.now() + spec.timeoutMs
  const until = async (what: string, done: () => boolean, by = deadline): Promise<void> => {
    while (!done()) {
      if (performance.now() > by) throw new Error(`join case (${spec.client}): timed out waiting for ${what}`)
      await sleep(20)
    }
  }
  const production = new Production(producer, spec)
  const a = await member(1, spec, deliveries, finished)
  let b: Member | undefined
  try {
    production.start()
    await until('member A\'s first record', () => deliveries.length > 0)
    await sleep(SETTLE_MS + spec.steadyMs)
    const join = performance.now()
    b = await member(2, spec, deliveries, finished)
    let secondDelivered = true
    // Half the time left at most, so that a B that never delivers still leaves time to drain and report.
    const bBy = join + (deadline - join) / 2
    await until('member B\'s first record', () => deliveries.some((d) => d.member === 2), bBy).catch(() => (secondDelivered = false))
    if (secondDelivered) await sleep(spec.afterMs)
    await production.stop()
    await until(`all ${production.count} records finished (${finished.size} so far)`, () => finished.size >= production.count)
    for (const m of [a, b]) if (m.failure() !== undefined) throw m.failure()
    return {
      client: spec.client, protocol: spec.client === 'kafkajs' ? 'eager (classic)' : 'KIP-848 (consumer)',
      produced: production.count, unfinished: production.count - finished.size, deliveries: deliveries.length, second_delivered: secondDelivered,
      ...analyseJoin(deliveries, { join, steadyMs: spec.steadyMs }),
    }
  } finally {
    await production.stop()
    await producer.disconnect()
    await Promise.all([a.stop(), b?.stop()])
  }
}

/** Sends `ratePerS` records a second, every 20 ms, key i % 120 on partition key % partitions (even per partition). */
class Production {
  count = 0
  #timer: NodeJS.Timeout | undefined
  #sending: Promise<unknown> = Promise.resolve()
  #started = 0

  constructor(readonly producer: ReturnType<Kafka['producer']>, readonly spec: JoinSpec) {}

  start(): void {
    this.#started = performance.now()
    // Paced by elapsed time, not by ticks: a late tick sends what it owes, so the rate holds on a busy machine.
    this.#timer = setInterval(() => {
      const owed = Math.floor(((performance.now() - this.#started) * this.spec.ratePerS) / 1000) - this.count
      if (owed <= 0) return
      const messages = Array.from({ length: owed }, (_, i) => {
        const key = (this.count + i) % KEYS
        return { key: `k${key}`, value: String(this.count + i), partition: key % this.spec.partitions }
      })
      this.count += owed
      this.#sending = this.#sending.then(() => this.producer.send({ topic: this.spec.topic, messages }))
    }, 20)
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#sending
  }
}

interface Member {
  stop(): Promise<void>
  failure(): unknown
}

/** One member's pipeline, subscribed: each delivery logged in `deliveries`, each finish in `finished`. */
async function member(id: 1 | 2, spec: JoinSpec, deliveries: Delivery[], finished: Set<string>): Promise<Member> {
  const source = fromKafka(await consumerOf(id, spec), { topics: [spec.topic], fromBeginning: true, maxInFlight: 2_000 })
  let failure: unknown
  const subscription = source
    .pipe(
      groupByKeyConcat(
        recordKey,
        async (r: SourceRecord<Buffer | null, Buffer | null>) => {
          const delivery: Delivery = { member: id, partition: r.partition, offset: Number(r.offset), started: performance.now() }
          deliveries.push(delivery)
          await sleep(spec.workMs)
          delivery.finished = performance.now()
          finished.add(`${r.partition}:${r.offset}`)
        },
        { concurrency: 64, skip: (r) => source.isStale(r) },
      ),
      orderedMerge(),
      commitOffsets(source, { interval: 500 }),
    )
    .subscribe({ error: (error) => (failure = error) })
  return {
    stop: async () => {
      subscription.unsubscribe()
      await source.closed()
    },
    failure: () => failure,
  }
}

/** A member's consumer, not connected: kafkajs (classic, eager), or platformatic with KIP-848. */
async function consumerOf(id: 1 | 2, spec: JoinSpec): Promise<KafkaConsumerLike> {
  const groupId = `${spec.topic}-group`
  const clientId = `bench-join-${spec.client}-${id}`
  // Short fetch waits for both: the members consume a live tail, and a long wait would delay a revoke.
  if (spec.client === 'kafkajs') {
    return new Kafka({ clientId, brokers: spec.brokers, logLevel: logLevel.NOTHING }).consumer({ groupId, maxWaitTimeInMs: 100 })
  }
  const { Consumer } = await import('@platformatic/kafka')
  return platformaticConsumer(new Consumer({ groupId, clientId, bootstrapBrokers: spec.brokers, maxWaitTime: 100, groupProtocol: 'consumer' }))
}

if (require.main === module) {
  runJoinCase(JSON.parse(process.argv[2] ?? '{}') as JoinSpec).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exit(1)
    },
  )
}
