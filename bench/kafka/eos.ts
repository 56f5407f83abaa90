/**
 * `npm run bench -- kafka-eos [--json] [--records N] [--partitions N] [--reps N]`: the same
 * consume-transform-produce workload (every record forwarded to an output topic, no work) through
 * at-least-once `publish` + `commitOffsets` and through `publishTransactional` with its default interval,
 * run alternately in this process, each pass with fresh groups and output topics. Reports records/s of each
 * (from the first delivered record to the last commit), `eos_vs_alo` (transactional / at-least-once, median
 * of the reps; target >= 0.5) and transactions per second. The broker: `KAFKA_BROKERS` (else a local one).
 */
import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { lastValueFrom, takeWhile, tap, type Observable } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { publish } from '../../lib/publish/publish'
import { publishTransactional } from '../../lib/transactions/publish-transactional'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { forward, type OutputMessage, type Result } from '../../operators/result'
import { ensureKafka } from '../../lib/testing/kafka-broker'
import { roundTo } from '../shared/measure'

interface Pass { mode: 'alo' | 'eos'; records_per_s: number; ms: number; transactions: number; transactions_per_s: number }

/** Runs the suite (the bench dispatcher calls this). */
export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`)
    return i === -1 ? def : Number(args[i + 1])
  }
  const records = opt('records', 100_000)
  const partitions = opt('partitions', 12)
  const reps = opt('reps', 2)
  const local = process.env.KAFKA_BROKERS === undefined ? await ensureKafka() : undefined
  const brokers = (process.env.KAFKA_BROKERS ?? local!.brokers.join(',')).split(',')
  const kafka = new Kafka({ clientId: 'bench-eos', brokers, logLevel: logLevel.NOTHING })
  const input = `bench-eos-in-${randomBytes(4).toString('hex')}`
  await produceInput(kafka, input, records, partitions)
  const passes: Pass[] = []
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of ['alo', 'eos'] as const) {
      const pass = await runPass(kafka, mode, input, records, partitions)
      passes.push(pass)
      process.stderr.write(`  ${mode}: ${pass.records_per_s} records/s (${pass.ms} ms), ${pass.transactions} transactions, ${pass.transactions_per_s}/s\n`)
    }
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
  const ratios = Array.from({ length: reps }, (_, i) => roundTo(passes[2 * i + 1]!.records_per_s / passes[2 * i]!.records_per_s, 3))
  const report = {
    records, partitions, passes, eos_vs_alo: median(ratios), eos_vs_alo_reps: ratios,
    transactions_per_s: median(passes.filter((p) => p.mode === 'eos').map((p) => p.transactions_per_s)), targets: { eos_vs_alo: 0.5 },
  }
  process.stdout.write(`eos_vs_alo ${report.eos_vs_alo} (target >= 0.5; reps ${ratios.join(', ')}), transactions/s ${report.transactions_per_s}\n`)
  if (args.includes('--json')) process.stdout.write(JSON.stringify(report) + '\n')
  await local?.stop()
}

async function produceInput(kafka: Kafka, topic: string, records: number, partitions: number): Promise<void> {
  const admin = kafka.admin()
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await Promise.all([admin.connect(), producer.connect()])
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] })
  const value = Buffer.alloc(100, 'x')
  for (let from = 0; from < records; from += 5_000) {
    const messages = Array.from({ length: Math.min(5_000, records - from) }, () => ({ key: `key-${Math.floor(Math.random() * 5_000)}`, value }))
    await producer.send({ topic, messages, acks: -1 })
  }
  await Promise.all([admin.disconnect(), producer.disconnect()])
}

// The transform: each record forwarded as fetched, no work, so the two modes differ only in how they write.
const passOn = (r: SourceRecord<Buffer | null, Buffer | null>): Result<OutputMessage>[] => [forward({ key: r.rawKey ?? null, value: r.rawValue ?? null })]

async function runPass(kafka: Kafka, mode: 'alo' | 'eos', input: string, records: number, partitions: number): Promise<Pass> {
  const groupId = `bench-eos-${mode}-${randomBytes(4).toString('hex')}`
  const output = `${groupId}-out`
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: output, numPartitions: partitions }] })
  const source = fromKafka(() => kafka.consumer({ groupId }), { topics: [input], fromBeginning: true, maxInFlight: 10_000 })
  const processed = source.pipe(
    groupByKeyConcat(recordKey, passOn, { concurrency: 256, skip: source.isStale }),
    orderedMerge(),
  )
  let first = 0
  let transactions = 0
  // The input's offsets are dense from 0 (one plain producer): records committed = the sum of committed offsets.
  const offsets = new Map<number, number>()
  const committed = (): number => [...offsets.values()].reduce((a, b) => a + b, 0)
  const producer = kafka.producer({ idempotent: true })
  if (mode === 'alo') await producer.connect()
  const commits: Observable<unknown> = mode === 'alo'
    ? processed.pipe(
      publish(producer, { topic: output }),
      commitOffsets(source, { interval: 100 }), // publishTransactional's default interval, for a like-for-like end
      tap((c) => { for (const o of c.offsets) offsets.set(o.partition, Number(o.offset)) }),
    )
    : processed.pipe(
      publishTransactional(source, {
        consumerGroupId: groupId, topic: output, admin,
        producer: (transactionalId) => kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }),
      }),
      tap((tx) => {
        transactions++
        if (tx.offset !== undefined) offsets.set(tx.partition, Number(tx.offset))
      }),
    )
  const started = setInterval(() => {
    if (first === 0 && source.tracker.totalDelivered > 0) first = performance.now()
  }, 1)
  await lastValueFrom(commits.pipe(takeWhile(() => committed() < records, true)), { defaultValue: undefined })
  const end = performance.now()
  clearInterval(started)
  await source.closed()
  if (mode === 'alo') await producer.disconnect()
  await admin.disconnect()
  const ms = end - first
  return { mode, ms: roundTo(ms, 1), records_per_s: roundTo((records * 1000) / ms, 1), transactions, transactions_per_s: roundTo((transactions * 1000) / ms, 1) }
}
