/**
 * `npm run bench -- kafka-churn [--json] [--records N] [--partitions N] [--members N] [--churn-ms N] [--modes off,drain,drain+map]`:
 * the churn measure of issue 17. `--members` members (default 3) of one group consume a keyed topic of
 * `--records` records (default 100,000) through `groupByKeyConcat` + `orderedMerge` + `commitOffsets`, with
 * kafkajs's default consumer options; every `--churn-ms` (default 5,000) the oldest member leaves (a graceful
 * shutdown: its `signal` aborts, what it holds finishes, it commits and leaves) and a new one joins. Each
 * record's work takes 1-20 ms, one in a hundred 400 ms (what is still running when a rebalance comes). Prints,
 * per mode, the re-processed share: (runs of a record's work - records) / records. Modes: `off`
 * (drainOnRebalance 0), `drain` (the default), `drain+map` (the default and `offsetMap`). Each mode reads the
 * same topic with a group of its own.
 */
import { randomBytes } from 'node:crypto'
import { Kafka, logLevel, type Admin } from 'kafkajs'
import { tap } from 'rxjs'
import { ensureKafka } from '../../lib/testing/kafka-broker'
import { fromKafka } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { roundTo } from '../shared/measure'

/** One way of consuming: the rebalance drain off, on (default), or on with the offset map. */
export type ChurnMode = 'off' | 'drain' | 'drain+map'

export interface ChurnOptions {
  readonly records: number
  readonly partitions: number
  readonly members: number
  readonly churnMs: number
  readonly modes: readonly ChurnMode[]
}

export interface ChurnResult {
  readonly mode: ChurnMode
  /** Runs of a record's work beyond its first, over the records. */
  readonly reprocessed_share: number
  readonly reprocessed: number
  /** Members that left (and as many joined) during the run. */
  readonly churns: number
  /** GROUP_JOIN events, all members together. */
  readonly joins: number
  readonly seconds: number
}

export const CHURN_DEFAULTS: ChurnOptions = { records: 100_000, partitions: 12, members: 3, churnMs: 5_000, modes: ['off', 'drain', 'drain+map'] }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// 1-20 ms, and one record in a hundred 400 ms, by offset (the same records are slow in every mode).
const workMs = (partition: number, offset: number): number => ((offset * 7 + partition) % 100 === 0 ? 400 : 1 + ((offset * 13 + partition * 5) % 20))

/** One member: its pipeline, how to make it leave gracefully, and how to wait for it to be gone. */
function startMember(kafka: Kafka, admin: Admin, topic: string, groupId: string, mode: ChurnMode, runs: Uint16Array[], counts: { joins: number }) {
  const controller = new AbortController()
  const consumer = kafka.consumer({ groupId })
  consumer.on(consumer.events.GROUP_JOIN, () => void counts.joins++)
  const source = fromKafka(consumer, {
    topics: [topic], fromBeginning: true, maxInFlight: 500, signal: controller.signal,
    drainOnRebalance: mode === 'off' ? 0 : undefined,
    offsetMap: mode === 'drain+map' ? { admin, groupId } : undefined,
  })
  let failure: unknown
  const ended = new Promise<void>((resolve) => {
    source.pipe(
      groupByKeyConcat(recordKey, async (r) => {
        const offset = Number(r.offset)
        runs[r.partition]![offset]!++
        await sleep(workMs(r.partition, offset))
        return r
      }, { concurrency: 64, skip: (record) => source.isStale(record) }),
      orderedMerge(),
      commitOffsets(source, { interval: 500 }),
      tap({ error: (e: unknown) => (failure = e) }),
    ).subscribe({ complete: () => resolve(), error: () => resolve() })
  })
  return {
    leave: async () => {
      controller.abort()
      await ended
      await source.closed()
      if (failure !== undefined) throw failure
    },
  }
}

async function produceTopic(kafka: Kafka, topic: string, o: ChurnOptions): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  const CHUNK = 5_000
  for (let from = 0; from < o.records; from += CHUNK) {
    const messages = Array.from({ length: Math.min(CHUNK, o.records - from) }, (_, i) => ({ key: `k${(from + i) % 1_000}`, value: String(from + i) }))
    await producer.send({ topic, messages })
  }
  await producer.disconnect()
}

async function committedAll(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })])
  const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
  return ends.every((e) => at.get(e.partition) === Number(e.high))
}

/** One mode over the topic: members churn until every record ran and the group committed the end offsets. */
async function churnOnce(brokers: string[], topic: string, mode: ChurnMode, o: ChurnOptions): Promise<ChurnResult> {
  const kafka = new Kafka({ clientId: `churn-${mode}`, brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic)
  const runs: Uint16Array[] = []
  for (const { partition, high } of ends) runs[partition] = new Uint16Array(Number(high))
  const groupId = `${topic}-${mode.replace('+', '-')}-${randomBytes(2).toString('hex')}`
  const counts = { joins: 0 }
  const started = Date.now()
  const members = Array.from({ length: o.members }, () => startMember(kafka, admin, topic, groupId, mode, runs, counts))
  const ran = (): number => runs.reduce((n, r) => n + r.reduce((m, x) => m + (x > 0 ? 1 : 0), 0), 0)
  let churns = 0
  const deadline = started + Math.max(600_000, o.records * 20)
  try {
    // Churn while records are left to run; then let the group settle and commit the end.
    while (ran() < o.records) {
      if (Date.now() > deadline) throw new Error(`kafka-churn ${mode}: ${ran()} of ${o.records} records ran before the deadline`)
      await sleep(o.churnMs)
      if (ran() >= o.records) break
      const leaving = members.shift()!
      members.push(startMember(kafka, admin, topic, groupId, mode, runs, counts))
      await leaving.leave()
      churns++
    }
    while (!(await committedAll(admin, groupId, topic))) {
      if (Date.now() > deadline) throw new Error(`kafka-churn ${mode}: the end offsets were not committed before the deadline`)
      await sleep(200)
    }
  } finally {
    await Promise.all(members.map((m) => m.leave().catch(() => undefined)))
    await admin.disconnect()
  }
  const total = runs.reduce((n, r) => n + r.reduce((m, x) => m + x, 0), 0)
  const reprocessed = total - o.records
  return { mode, reprocessed_share: roundTo(reprocessed / o.records, 5), reprocessed, churns, joins: counts.joins, seconds: roundTo((Date.now() - started) / 1000, 1) }
}

/** Produces the topic once, then runs each mode on it; the broker is env `KAFKA_BROKERS`'s or a new local one. */
export async function churn(o: ChurnOptions, log: (line: string) => void = () => undefined): Promise<ChurnResult[]> {
  const broker = await ensureKafka({ jvmArgs: [] })
  try {
    const kafka = new Kafka({ clientId: 'churn-setup', brokers: broker.brokers, logLevel: logLevel.NOTHING })
    const topic = `bench-churn-${randomBytes(3).toString('hex')}`
    await produceTopic(kafka, topic, o)
    const results: ChurnResult[] = []
    for (const mode of o.modes) {
      const result = await churnOnce(broker.brokers, topic, mode, o)
      log(`  ${mode}: re-processed ${result.reprocessed} of ${o.records} (${(result.reprocessed_share * 100).toFixed(3)}%), ${result.churns} churns, ${result.joins} joins, ${result.seconds} s`)
      results.push(result)
    }
    return results
  } finally {
    await broker.stop()
  }
}

/** The bench dispatcher's entry point. */
export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`)
    const value = i === -1 ? def : Number(args[i + 1])
    if (!Number.isInteger(value) || value < 1) throw new Error(`kafka-churn: --${name} needs a positive integer, got ${String(args[i + 1])}`)
    return value
  }
  const i = args.indexOf('--modes')
  const modes = i === -1 ? CHURN_DEFAULTS.modes : (args[i + 1] ?? '').split(',')
  for (const m of modes) if (!CHURN_DEFAULTS.modes.includes(m as ChurnMode)) throw new Error(`kafka-churn: unknown mode ${m} (off, drain, drain+map)`)
  const o: ChurnOptions = {
    records: opt('records', CHURN_DEFAULTS.records), partitions: opt('partitions', CHURN_DEFAULTS.partitions),
    members: opt('members', CHURN_DEFAULTS.members), churnMs: opt('churn-ms', CHURN_DEFAULTS.churnMs), modes: modes as ChurnMode[],
  }
  const results = await churn(o, (line) => process.stderr.write(line + '\n'))
  for (const r of results) process.stdout.write(`${r.mode.padEnd(10)} reprocessed_share ${(r.reprocessed_share * 100).toFixed(3)}%  (${r.reprocessed} of ${o.records}; ${r.churns} churns, ${r.joins} joins, ${r.seconds} s)\n`)
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ ...o, node: process.versions.node, results }) + '\n')
}
