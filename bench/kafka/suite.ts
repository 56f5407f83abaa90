/**
 * The kafka suite: kafka-rx against a real broker, beside what a user would pick instead.
 * `npm run bench -- kafka [--json] [--records N] [--reps N] [--no-jvm] [--cpu-prof] ...` (`--help` lists all).
 *
 * One run, one broker (ensureKafka, with the JVM as Kafka tunes it, unless `KAFKA_BROKERS` names one), one
 * topic produced once; every case consumes it from the beginning with its own group, in a child process of
 * its own (its peak RSS is its own), cases interleaved when repeated:
 *
 * 1. `raw_each_batch`: kafkajs eachBatch doing nothing, one commit at the end: the client's ceiling.
 * 2. `kafka_rx_noop`: the kafka-rx pipeline (fromKafka, groupByKeyConcat, orderedMerge, commitOffsets), no work.
 * 3. `each_message_work` / `kafka_rx_work`: `workMs` of asynchronous work per record; kafkajs eachMessage with
 *    partitionsConsumedConcurrently = partitions (a time- or count-bounded sample: it is slow), against
 *    kafka-rx with per-key order and `concurrency` at once.
 * 4. `parallel_consumer_work`: Confluent Parallel Consumer, KEY order, `concurrency` threads, the same work.
 * 5. Consume-transform-produce (ctp.ts), each record copied to an output topic, committed after its send:
 *    `ctp_handwritten_noop` / `kafka_rx_ctp_noop` (no work) and `ctp_handwritten_work` / `kafka_rx_ctp_work`
 *    (`workMs` per record): kafkajs eachBatch + sendBatch by hand against fromKafka, groupByKeyConcat,
 *    orderedMerge, publish, commitOffsets. Their heap bytes allocated per record are measured too.
 * 6. Exactly-once (eos-case.ts): `kafka_rx_ctp_eos`, kafka_rx_ctp_noop's workload through publishTransactional
 *    (defaults), and `parallel_consumer_ctp_eos`, the same in Parallel Consumer's transactional commit mode.
 * 7. The second client (platformatic-raw.ts): `platformatic_raw`, `@platformatic/kafka`'s consumer stream with
 *    nothing done per record and one commit at the end, on the same topic, run in the same rounds as cases 1
 *    and 2 (paired-cases.ts). Only on Node >= 22.22 (runtime.ts): on older Node it is skipped, with the reason
 *    printed and kept in the report's `skipped`.
 * 8. kafka-rx over the second client (platformatic-noop.ts): `kafka_rx_platformatic_noop`, case 2's pipeline
 *    over `kafka-rx/platformatic`, in the same rounds; skipped with case 7.
 * 9. `kafka_rx_noop_offset_map`: case 2 with fromKafka's `offsetMap` on, next to case 2 in every round:
 *    `offset_map_cost` is its records/s over case 2's, the median over the rounds (issue 17, target >= 0.97).
 * 10. With `--join`, after the rounds: the mid-stream join (join-case.ts, join-runs.ts), kafkajs (eager) and
 *    `@platformatic/kafka` with KIP-848 (skipped with case 7), each on a live topic of its own: `join` holds
 *    per client the records re-delivered on the partitions that stayed and their throughput in the
 *    rebalance window over the steady rate (issue 19; targets 0 and >= 0.8, for KIP-848).
 *
 * `--json` prints one JSON object as the last line: `noop_vs_raw` (2 / 1: the median over raw/no-op pairs run
 * back to back, `--noop-pairs` more after the reps; with `--warmups N` each of those runs measures a pass over
 * the topic after N unmeasured ones in its process, i.e. warm code), `work_vs_kafkajs` (kafka-rx /
 * eachMessage), `work_vs_parallel_consumer` (kafka-rx / Parallel Consumer; null with --no-jvm), and each
 * case's records/s and peak RSS (median records/s over the reps, highest peak); `ctp_noop_vs_handwritten` and
 * `ctp_work_vs_handwritten` (kafka-rx / hand-written, consume-transform-produce without and with work);
 * `eos_vs_alo` (kafka_rx_ctp_eos / kafka_rx_ctp_noop, the median of each rep's ratio), `eos_transactions_per_s`
 * and `eos_vs_parallel_consumer` (kafka_rx_ctp_eos / parallel_consumer_ctp_eos; null with --no-jvm); `noop_vs_raw_by_client`
 * (the same ratio for each client: case 2 / case 1, case 8 / case 7; null where skipped) and
 * `platformatic_raw_vs_kafkajs_raw` (case 7 / case 1, the median over the rounds; null when skipped).
 *
 * @example
 * npm run bench -- kafka                        # the table
 * npm run bench -- kafka --json --records 5000 --no-jvm   # the smoke test's tiny run
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as os from 'node:os'
import * as path from 'node:path'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { ensureKafka } from '../../lib/testing/kafka-broker'
import type { CaseResult, CaseSpec, NodeCaseName } from './cases'
import { createOutputTopic } from './ctp'
import { buildParallelConsumer, runParallelConsumer } from './jvm'
import { CLIENT_CASES, pairedCaseNames, roundOrder, roundRatios, type Round } from './paired-cases'
import { clientSkipReason, type BenchClient } from './runtime'
import { JOIN_TARGETS, runJoins, type JoinSummary } from './join-runs'
import { median, roundTo } from '../shared/measure'

export interface Options {
  json: boolean
  records: number
  partitions: number
  keys: number
  valueBytes: number
  workMs: number
  concurrency: number
  maxInFlight: number
  reps: number
  noopPairs: number
  warmups: number
  sampleRecords: number
  sampleMs: number
  jvm: boolean
  cpuProf: boolean
  /** The kafka-rx cases commit with the offset map (fromKafka's offsetMap option). */
  offsetMap: boolean
  /** Run the mid-stream join case (join-case.ts) for each client, after the rounds. */
  join: boolean
  joinReps: number
  joinPartitions: number
  joinRate: number
  joinWorkMs: number
  joinSteadyMs: number
  joinAfterMs: number
}

export const DEFAULTS: Options = {
  json: false, records: 200_000, partitions: 12, keys: 1_000, valueBytes: 64, workMs: 2, concurrency: 512,
  maxInFlight: 10_000, reps: 1, noopPairs: 6, warmups: 0, sampleRecords: 30_000, sampleMs: 20_000, jvm: true, cpuProf: false, offsetMap: false,
  join: false, joinReps: 1, joinPartitions: 6, joinRate: 600, joinWorkMs: 2, joinSteadyMs: 5_000, joinAfterMs: 5_000,
}

const HELP = `npm run bench -- kafka [options]
  --json                 one JSON object as the last line of stdout
  --records N            records produced once, consumed by every case (default ${DEFAULTS.records})
  --partitions N         (default ${DEFAULTS.partitions})      --keys N   distinct keys (default ${DEFAULTS.keys})
  --work-ms N            simulated async work per record in cases 3 and 4 (default ${DEFAULTS.workMs})
  --concurrency N        kafka-rx and Parallel Consumer concurrency (default ${DEFAULTS.concurrency})
  --max-in-flight N      kafka-rx maxInFlight (default ${DEFAULTS.maxInFlight})
  --reps N               run every case N times, interleaved (default ${DEFAULTS.reps}; 0: the paired rounds only)
  --noop-pairs N         then N more raw/no-op pairs, for noop_vs_raw (default ${DEFAULTS.noopPairs})
  --warmups N            unmeasured passes over the topic before each raw/no-op run, in its process:
                         warm code, as a long-running consumer runs (default ${DEFAULTS.warmups}: a cold process)
  --sample-records N     eachMessage stops after N records ... (default ${DEFAULTS.sampleRecords})
  --sample-ms N          ... or N ms after its first record, whichever first (default ${DEFAULTS.sampleMs})
  --no-jvm               skip the Parallel Consumer cases (no java or mvn needed)
  --cpu-prof             node cases write .cpuprofile files into the current directory
  --offset-map           every kafka-rx case runs with fromKafka's offsetMap option (offset_map_cost is then
                         not measured: both of its sides would have the map)
  --join                 then the mid-stream join case, kafkajs (eager) and platformatic (KIP-848), each:
  --join-reps N          times (default ${DEFAULTS.joinReps})   --join-partitions N  (default ${DEFAULTS.joinPartitions})
  --join-rate N          records produced per second while it runs (default ${DEFAULTS.joinRate})
  --join-work-ms N       async work per record (default ${DEFAULTS.joinWorkMs})
  --join-steady-ms N     the first member's steady span before the join (default ${DEFAULTS.joinSteadyMs})
  --join-after-ms N      how long it goes on after the second member's first record (default ${DEFAULTS.joinAfterMs})
`

/** Runs the suite (the dispatcher in bench/index.ts calls this with the arguments after `kafka`). */
export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args)
  if (options === undefined) {
    process.stdout.write(HELP)
    return
  }
  const log = (line: string): void => void (options.json ? process.stderr : process.stdout).write(`${line}\n`)
  // With the JVM flags as Kafka's own scripts leave them, not the harness's quick-start (C1 only) flags.
  const broker = await ensureKafka({ jvmArgs: [] })
  try {
    const id = randomBytes(3).toString('hex')
    const topic = `bench-${id}`
    log(`broker ${broker.brokers.join(',')} (${broker.version}); producing ${options.records} records, ${options.partitions} partitions, ${options.keys} keys to ${topic}`)
    await produce(broker.brokers, topic, options)
    const classpath = options.jvm ? buildParallelConsumer() : undefined
    // Unmeasured: the first group on a fresh broker creates __consumer_offsets and may rejoin meanwhile
    // (records delivered twice, commits refused); this also warms the broker's page cache for every case.
    await runNodeCase({
      name: 'raw_each_batch', brokers: broker.brokers, topic, groupId: `${topic}-warm-up`, records: options.records,
      partitions: options.partitions, workMs: 0, concurrency: 1, maxInFlight: options.maxInFlight, timeoutMs: 120_000,
    }, false)

    const runs = new Map<string, CaseResult[]>()
    // The paired cases (paired-cases.ts: each client raw and kafka-rx on it) run in rounds back to back (one
    // round in each rep, then noopPairs more), forward and backward in turn, so that drift in the machine's
    // speed falls on both sides of each ratio alike. A client this Node cannot run is skipped, with its reason.
    const skipped: Record<string, string> = {}
    const clients = CLIENT_CASES.filter(({ client, raw, noop }) => {
      const reason = clientSkipReason(client)
      if (reason === undefined) return true
      const names = pairedCaseNames([{ client, raw, ...(noop === undefined ? {} : { noop }) }])
      for (const name of names) skipped[name] = reason
      log(`  skipped ${names.join(', ')}: ${reason}`)
      return false
    })
    const paired = pairedCaseNames(clients)
    const rounds: Round[] = []
    // eos_vs_alo from each rep's at-least-once and exactly-once runs, run back to back.
    const eosPairs: { alo: CaseResult; eos: CaseResult }[] = []
    const nodeCase = (name: NodeCaseName, groupId: string): Promise<CaseResult> =>
      runNodeCase({
        name, brokers: broker.brokers, topic, groupId, records: options.records, partitions: options.partitions,
        workMs: options.workMs, concurrency: options.concurrency, maxInFlight: options.maxInFlight, timeoutMs: Math.max(120_000, options.records / 10),
        ...(name === 'each_message_work' ? { sampleRecords: options.sampleRecords, sampleMs: options.sampleMs } : {}),
        // With --warmups the CPU-bound pair runs warm, as a long-running consumer does (the others are bound by
        // their work).
        ...(paired.includes(name) ? { warmups: options.warmups } : {}),
        ...(options.offsetMap ? { offsetMap: true } : {}),
      }, options.cpuProf)
    for (let rep = 1; rep <= options.reps; rep++) {
      const order: (NodeCaseName | JvmCaseName)[] = [...roundOrder(rep, paired), 'each_message_work', 'kafka_rx_work']
      if (classpath !== undefined) order.push('parallel_consumer_work')
      // Consume-transform-produce, each kafka-rx case beside its hand-written one, the first alternating; the
      // exactly-once case right after its at-least-once one (eos_vs_alo is a ratio within each rep).
      const ctp = (a: NodeCaseName, b: NodeCaseName): NodeCaseName[] => (rep % 2 === 1 ? [a, b] : [b, a])
      order.push(...ctp('ctp_handwritten_noop', 'kafka_rx_ctp_noop'))
      order.splice(order.indexOf('kafka_rx_ctp_noop') + 1, 0, 'kafka_rx_ctp_eos')
      if (classpath !== undefined) order.push('parallel_consumer_ctp_eos')
      order.push(...ctp('ctp_handwritten_work', 'kafka_rx_ctp_work'))
      for (const name of order) {
        const groupId = `${topic}-${name}-${rep}`
        const jvm = name === 'parallel_consumer_work' || name === 'parallel_consumer_ctp_eos'
        if (name === 'parallel_consumer_ctp_eos') await createOutputTopic(new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }), { groupId, partitions: options.partitions })
        const result = jvm
          ? await runParallelConsumer(classpath!, {
            brokers: broker.brokers, topic, groupId, records: options.records, workMs: name === 'parallel_consumer_work' ? options.workMs : 0,
            concurrency: options.concurrency, timeoutMs: Math.max(120_000, options.records / 10), mode: name === 'parallel_consumer_work' ? 'work' : 'ctp-eos',
          })
          : await nodeCase(name, groupId)
        if (jvm) result.lag = await lagOf(broker.brokers, topic, groupId)
        log(`  rep ${rep} ${name.padEnd(26)} ${describe(result)}`)
        runs.set(name, [...(runs.get(name) ?? []), result])
      }
      rounds.push(Object.fromEntries(paired.map((name) => [name, runs.get(name)!.at(-1)!])))
      eosPairs.push({ alo: runs.get('kafka_rx_ctp_noop')!.at(-1)!, eos: runs.get('kafka_rx_ctp_eos')!.at(-1)! })
    }
    for (let i = 1; i <= options.noopPairs; i++) {
      const round: Round = {}
      for (const name of roundOrder(options.reps + i, paired)) {
        round[name] = await nodeCase(name, `${topic}-${name}-pair-${i}`)
        log(`  pair ${i} ${name.padEnd(25)} ${describe(round[name]!)}`)
      }
      rounds.push(round)
    }
    // The join case (issue 19), after the rounds: each client in turn, on a fresh topic and group per run.
    const joins = !options.join ? null : await runJoins({
      brokers: broker.brokers, topic, partitions: options.joinPartitions, ratePerS: options.joinRate, workMs: options.joinWorkMs,
      steadyMs: options.joinSteadyMs, afterMs: options.joinAfterMs, reps: options.joinReps, cpuProf: options.cpuProf,
    }, skipped, log)
    const report = makeReport(runs, rounds, eosPairs, skipped, options, broker.version, joins)
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else printTable(report)
  } finally {
    await broker.stop()
  }
}

function parseArgs(args: string[]): Options | undefined {
  const o: Options = { ...DEFAULTS }
  const numeric: Record<string, keyof Options> = {
    '--records': 'records', '--partitions': 'partitions', '--keys': 'keys', '--work-ms': 'workMs', '--concurrency': 'concurrency',
    '--max-in-flight': 'maxInFlight', '--reps': 'reps', '--noop-pairs': 'noopPairs', '--warmups': 'warmups', '--sample-records': 'sampleRecords', '--sample-ms': 'sampleMs', '--value-bytes': 'valueBytes',
    '--join-reps': 'joinReps', '--join-partitions': 'joinPartitions', '--join-rate': 'joinRate', '--join-work-ms': 'joinWorkMs', '--join-steady-ms': 'joinSteadyMs', '--join-after-ms': 'joinAfterMs',
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--help' || a === '-h') return undefined
    else if (a === '--json') o.json = true
    else if (a === '--no-jvm') o.jvm = false
    else if (a === '--cpu-prof') o.cpuProf = true
    else if (a === '--offset-map') o.offsetMap = true
    else if (a === '--join') o.join = true
    else if (a in numeric) {
      const value = Number(args[++i])
      if (!Number.isInteger(value) || value < (a === '--work-ms' || a === '--noop-pairs' || a === '--warmups' || a === '--reps' || a === '--join-work-ms' ? 0 : 1)) throw new Error(`kafka bench: ${a} needs a positive integer`)
      ;(o as unknown as Record<string, number>)[numeric[a]!] = value
    } else throw new Error(`kafka bench: unknown option ${a} (try --help)`)
  }
  return o
}

/** Produces the workload once: `keys` keys spread uniformly at random, small values, default partitioner. */
export async function produce(brokers: string[], topic: string, o: Options): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-producer', brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await Promise.all([admin.connect(), producer.connect()])
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: o.partitions }] })
    const value = Buffer.alloc(o.valueBytes, 'x')
    const chunk = 5_000
    const sends: Promise<unknown>[] = []
    for (let from = 0; from < o.records; from += chunk) {
      const messages = []
      for (let i = from; i < Math.min(o.records, from + chunk); i++) messages.push({ key: `key-${Math.floor(Math.random() * o.keys)}`, value })
      sends.push(producer.send({ topic, messages, acks: -1 }))
      if (sends.length >= 4) await sends.shift()
    }
    await Promise.all(sends)
  } finally {
    await Promise.all([admin.disconnect(), producer.disconnect()])
  }
}

/** The JVM cases (jvm.ts). */
type JvmCaseName = 'parallel_consumer_work' | 'parallel_consumer_ctp_eos'

/** Runs one case in a child process: this build's cases script, or `script` (another build's, to compare). */
export function runNodeCase(spec: CaseSpec, cpuProf: boolean, script = path.join(__dirname, 'cases.js')): Promise<CaseResult> {
  const flags = cpuProf ? ['--cpu-prof', `--cpu-prof-name=kafka-${spec.name}-${Date.now()}.cpuprofile`] : []
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...flags, script, JSON.stringify(spec)], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`${spec.name} failed: ${error.message}\n${stderr}`))
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as CaseResult)
      } catch {
        reject(new Error(`${spec.name} printed no result:\n${stdout}\n${stderr}`))
      }
    })
  })
}

async function lagOf(brokers: string[], topic: string, groupId: string): Promise<number> {
  const admin = new Kafka({ clientId: 'bench-lag', brokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]))
    let lag = 0
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) lag += Number(high) - (at.get(partition) ?? 0)
    return lag
  } finally {
    await admin.disconnect()
  }
}

function describe(r: CaseResult): string {
  const inBatch = r.each_batch_us_per_record === null ? '' : `, ${r.each_batch_us_per_record} µs/record in eachBatch`
  const cpu = r.cpu_us_per_record === null ? '' : `, ${r.cpu_us_per_record} CPU µs/record${inBatch}`
  const bytes = r.bytes_per_record === null || r.bytes_per_record === undefined ? '' : `, ${r.bytes_per_record} heap bytes/record`
  const txs = r.transactions_per_s === null || r.transactions_per_s === undefined ? '' : `, ${r.transactions_per_s} transactions/s`
  const first = r.first_finish_ms === undefined ? '' : `, first finish ${r.first_finish_ms} ms after the join`
  return `${fmt(r.records_per_s).padStart(9)} records/s  (${r.records} records in ${(r.ms / 1000).toFixed(1)} s${cpu}${bytes}${txs}${first}, peak RSS ${r.peak_rss_mib} MiB)`
}

/** One case over its reps: median records/s, highest peak RSS. */
export interface KafkaCaseFigures {
  records_per_s: number
  /** Median CPU µs per record of the process over the measured span (null for the JVM case). */
  cpu_us_per_record: number | null
  /** Median µs per record inside eachBatch (the case's own handling of fetched records; null for the JVM case). */
  each_batch_us_per_record: number | null
  peak_rss_mib: number
  /** Median heap bytes allocated per record (consume-transform-produce cases; null for the others). */
  bytes_per_record: number | null
  /** Median transactions committed per second (kafka_rx_ctp_eos; null for the others). */
  transactions_per_s: number | null
  /** Median MiB of Fetch responses over the span (null for the JVM case); see CaseResult.fetched_mib. */
  fetched_mib: number | null
  runs_records_per_s: number[]
  records: number
  ms: number
  sampled: boolean
  /** False when a run's consumer did not shut down within 15 s of its last record. */
  closed: boolean
  lag: number | null
}

/** The suite's report; `--json` prints it as one line. */
export interface KafkaReport {
  suite: 'kafka'
  /** Median over the raw/no-op pairs of (no-op records/s / raw records/s), kafkajs (the default client). */
  noop_vs_raw: number
  /**
   * noop_vs_raw per client, each the median over its rounds; null for a client whose kafka-rx case does not
   * exist yet or was skipped (see `skipped`).
   */
  noop_vs_raw_by_client: Record<BenchClient, number | null>
  /**
   * platformatic_raw records/s over raw_each_batch's, the median over the rounds (both read the same topic, on
   * the same Node); null when the platformatic cases were skipped. Reported, no target.
   */
  platformatic_raw_vs_kafkajs_raw: number | null
  /** Each round's platformatic_raw_vs_kafkajs_raw, in run order. */
  platformatic_raw_vs_kafkajs_raw_pairs: number[]
  /** The cases not run, with why (e.g. the platformatic ones on Node < 22.22). */
  skipped: Record<string, string>
  /** Each pair's ratio, in run order. */
  noop_vs_raw_pairs: number[]
  /** The same pairs on CPU time: median of raw CPU µs/record / no-op CPU µs/record. */
  noop_vs_raw_cpu: number
  /** Median no-op records/s over median raw records/s, all of their runs (the statistic before pairs). */
  noop_vs_raw_of_medians: number
  work_vs_kafkajs: number
  work_vs_parallel_consumer: number | null
  /** Consume-transform-produce, no work: kafka_rx_ctp_noop records/s over ctp_handwritten_noop's (medians). */
  ctp_noop_vs_handwritten: number
  /** The same with `workMs` per record: kafka_rx_ctp_work over ctp_handwritten_work. */
  ctp_work_vs_handwritten: number
  /** Exactly-once over at-least-once: median over the reps of kafka_rx_ctp_eos / kafka_rx_ctp_noop records/s. */
  eos_vs_alo: number
  /** Each rep's eos_vs_alo, in run order. */
  eos_vs_alo_reps: number[]
  /** kafka_rx_ctp_eos's transactions committed per second (median over the reps). */
  eos_transactions_per_s: number
  /** kafka_rx_ctp_eos records/s over parallel_consumer_ctp_eos's (medians); null with --no-jvm. */
  eos_vs_parallel_consumer: number | null
  /**
   * kafka_rx_noop_offset_map records/s over kafka_rx_noop's, the median over the rounds (each pair back to
   * back): the offset map's throughput cost (issue 17); null with --offset-map (both sides have the map).
   */
  offset_map_cost: number | null
  offset_map_cost_pairs: number[]
  /** The same pairs on CPU time: median of kafka_rx_noop CPU µs/record / kafka_rx_noop_offset_map's (less moved by the machine's load). */
  offset_map_cost_cpu: number | null
  /** The mid-stream join (issue 19) per client, with --join (null without; a client skipped is absent). */
  join: Partial<Record<BenchClient, JoinSummary>> | null
  targets: {
    noop_vs_raw: number; work_vs_kafkajs: number; work_vs_parallel_consumer: number; ctp_noop_vs_handwritten: number; ctp_work_vs_handwritten: number
    eos_vs_alo: number; eos_vs_parallel_consumer: number; offset_map_cost: number
    join_redelivered_stayed: number; join_window_vs_steady: number
  }
  cases: Record<string, KafkaCaseFigures>
  config: Omit<Options, 'json' | 'cpuProf'>
  machine: { nproc: number; cpu: string; node: string; kafka: string; loadavg: number[] }
}

function makeReport(
  runs: Map<string, CaseResult[]>, rounds: Round[], eosPairs: { alo: CaseResult; eos: CaseResult }[], skipped: Record<string, string>, o: Options, kafkaVersion: string,
  join: Partial<Record<BenchClient, JoinSummary>> | null,
): KafkaReport {
  const cases: Record<string, KafkaCaseFigures> = {}
  // The extra rounds' runs count in their cases' figures too.
  for (const round of rounds.slice(o.reps)) {
    for (const [name, result] of Object.entries(round)) runs.set(name, [...(runs.get(name) ?? []), result])
  }
  for (const [name, results] of runs) {
    const rates = results.map((r) => r.records_per_s)
    const mid = results[[...results.keys()].sort((a, b) => rates[a]! - rates[b]!)[Math.floor(results.length / 2)]!]!
    const cpu = results.map((r) => r.cpu_us_per_record).filter((c): c is number => c !== null)
    const inBatch = results.map((r) => r.each_batch_us_per_record).filter((c): c is number => c !== null)
    const bytes = results.map((r) => r.bytes_per_record).filter((b): b is number => b !== null && b !== undefined)
    const txs = results.map((r) => r.transactions_per_s).filter((t): t is number => t !== null && t !== undefined)
    const fetched = results.map((r) => r.fetched_mib).filter((b): b is number => b !== null && b !== undefined)
    cases[name] = {
      records_per_s: mid.records_per_s, cpu_us_per_record: cpu.length === 0 ? null : medianOf(cpu), each_batch_us_per_record: inBatch.length === 0 ? null : medianOf(inBatch), peak_rss_mib: Math.max(...results.map((r) => r.peak_rss_mib)), bytes_per_record: bytes.length === 0 ? null : roundTo(median(bytes), 0),
      transactions_per_s: txs.length === 0 ? null : roundTo(median(txs), 1), fetched_mib: fetched.length === 0 ? null : roundTo(median(fetched), 1), runs_records_per_s: rates,
      records: mid.records, ms: mid.ms, sampled: mid.sampled, closed: results.every((r) => r.closed), lag: results.reduce<number | null>((m, r) => (r.lag === null ? m : Math.max(m ?? 0, r.lag)), null),
    }
  }
  const rate = (name: string): number => cases[name]?.records_per_s ?? NaN
  // NaN when a case measured nothing (e.g. an empty sample): no ratio rather than Infinity.
  const ratio = (a: number, b: number): number => (b > 0 ? roundTo(a / b, 3) : NaN)
  const { json: _json, cpuProf: _cpuProf, ...config } = o
  const pairRatios = roundRatios(rounds, 'kafka_rx_noop', 'raw_each_batch')
  const cpuRatios = rounds.map((p) => ratio(p.raw_each_batch?.cpu_us_per_record ?? NaN, p.kafka_rx_noop?.cpu_us_per_record ?? NaN))
  const byClient = Object.fromEntries(CLIENT_CASES.map(({ client, raw, noop }) => {
    const ratios = noop === undefined || skipped[noop] !== undefined ? [] : roundRatios(rounds, noop, raw)
    return [client, ratios.length === 0 ? null : medianOf(ratios)]
  })) as Record<BenchClient, number | null>
  const clientRatios = roundRatios(rounds, 'platformatic_raw', 'raw_each_batch')
  const eosRatios = eosPairs.map((p) => ratio(p.eos.records_per_s, p.alo.records_per_s))
  const mapRatios = o.offsetMap ? [] : roundRatios(rounds, 'kafka_rx_noop_offset_map', 'kafka_rx_noop')
  const mapCpuRatios = o.offsetMap ? [] : rounds.flatMap((p) => (p.kafka_rx_noop_offset_map === undefined || p.kafka_rx_noop === undefined ? [] : [ratio(p.kafka_rx_noop.cpu_us_per_record ?? NaN, p.kafka_rx_noop_offset_map.cpu_us_per_record ?? NaN)]))
  return {
    suite: 'kafka',
    noop_vs_raw: medianOf(pairRatios),
    noop_vs_raw_pairs: pairRatios,
    noop_vs_raw_by_client: byClient,
    platformatic_raw_vs_kafkajs_raw: clientRatios.length === 0 ? null : medianOf(clientRatios),
    platformatic_raw_vs_kafkajs_raw_pairs: clientRatios,
    skipped,
    noop_vs_raw_cpu: medianOf(cpuRatios),
    noop_vs_raw_of_medians: ratio(rate('kafka_rx_noop'), rate('raw_each_batch')),
    work_vs_kafkajs: ratio(rate('kafka_rx_work'), rate('each_message_work')),
    work_vs_parallel_consumer: cases.parallel_consumer_work === undefined ? null : ratio(rate('kafka_rx_work'), rate('parallel_consumer_work')),
    ctp_noop_vs_handwritten: ratio(rate('kafka_rx_ctp_noop'), rate('ctp_handwritten_noop')),
    ctp_work_vs_handwritten: ratio(rate('kafka_rx_ctp_work'), rate('ctp_handwritten_work')),
    eos_vs_alo: medianOf(eosRatios),
    eos_vs_alo_reps: eosRatios,
    eos_transactions_per_s: cases.kafka_rx_ctp_eos?.transactions_per_s ?? NaN,
    eos_vs_parallel_consumer: cases.parallel_consumer_ctp_eos === undefined ? null : ratio(rate('kafka_rx_ctp_eos'), rate('parallel_consumer_ctp_eos')),
    offset_map_cost: mapRatios.length === 0 ? null : medianOf(mapRatios),
    offset_map_cost_pairs: mapRatios,
    offset_map_cost_cpu: mapCpuRatios.length === 0 ? null : medianOf(mapCpuRatios),
    join,
    targets: {
      noop_vs_raw: 0.85, work_vs_kafkajs: 10, work_vs_parallel_consumer: 1, ctp_noop_vs_handwritten: 0.9, ctp_work_vs_handwritten: 5,
      eos_vs_alo: 0.5, eos_vs_parallel_consumer: 1, offset_map_cost: 0.97,
      join_redelivered_stayed: JOIN_TARGETS.redelivered_stayed, join_window_vs_steady: JOIN_TARGETS.window_vs_steady,
    },
    cases,
    config,
    machine: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, kafka: kafkaVersion, loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100) },
  }
}

function printTable(r: KafkaReport): void {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`)
  out()
  out(`kafka suite: ${r.config.records} records, ${r.config.partitions} partitions, ${r.config.keys} keys, work ${r.config.workMs} ms, concurrency ${r.config.concurrency}, reps ${r.config.reps}`)
  out(`machine: ${r.machine.nproc} x ${r.machine.cpu}, node ${r.machine.node}, Kafka ${r.machine.kafka}, load average ${r.machine.loadavg.join(' ')}`)
  out()
  out(`${'case'.padEnd(24)} ${'records/s'.padStart(10)} ${'records'.padStart(8)} ${'s'.padStart(6)} ${'CPU µs/rec'.padStart(10)} ${'eachBatch µs/rec'.padStart(16)} ${'peak RSS MiB'.padStart(13)} ${'bytes/rec'.padStart(9)} ${'tx/s'.padStart(6)} ${'fetched MiB'.padStart(11)} ${'lag'.padStart(5)}  runs (records/s)`)
  for (const [name, c] of Object.entries(r.cases)) {
    out(`${name.padEnd(26)} ${fmt(c.records_per_s).padStart(10)} ${String(c.records).padStart(8)} ${(c.ms / 1000).toFixed(1).padStart(6)} ${String(c.cpu_us_per_record ?? '-').padStart(10)} ${String(c.each_batch_us_per_record ?? '-').padStart(16)} ${c.peak_rss_mib.toFixed(1).padStart(13)} ${String(c.bytes_per_record ?? '-').padStart(9)} ${String(c.transactions_per_s ?? '-').padStart(6)} ${String(c.fetched_mib ?? '-').padStart(11)} ${String(c.lag ?? '-').padStart(5)}  ${c.runs_records_per_s.map(fmt).join(', ')}${c.sampled ? '  (sample)' : ''}${c.closed ? '' : '  (shutdown hung)'}`)
  }
  out()
  const line = (name: string, value: number | null, target: number): void =>
    out(`${name.padEnd(26)} ${value === null ? 'n/a (--no-jvm)' : value.toFixed(3).padStart(8)}   target >= ${target}${value !== null && value < target ? '   MISSED' : ''}`)
  line('noop_vs_raw', r.noop_vs_raw, r.targets.noop_vs_raw)
  out(`${''.padEnd(26)} median of ${r.noop_vs_raw_pairs.length} raw/no-op pairs run back to back: ${r.noop_vs_raw_pairs.join(', ')}`)
  out(`${''.padEnd(26)} on CPU time ${r.noop_vs_raw_cpu}; median over median of all runs ${r.noop_vs_raw_of_medians}`)
  for (const [client, value] of Object.entries(r.noop_vs_raw_by_client)) {
    out(`${`  noop_vs_raw ${client}`.padEnd(26)}  ${value === null ? 'n/a (no kafka-rx case on this client yet, or skipped)' : `${value.toFixed(3).padStart(8)}   target >= ${r.targets.noop_vs_raw}${value < r.targets.noop_vs_raw ? '   MISSED' : ''}`}`)
  }
  out(`platformatic_raw_vs_kafkajs_raw ${r.platformatic_raw_vs_kafkajs_raw === null ? 'n/a (skipped)' : `${r.platformatic_raw_vs_kafkajs_raw.toFixed(3).padStart(8)}   (reported, no target) median of ${r.platformatic_raw_vs_kafkajs_raw_pairs.length} rounds: ${r.platformatic_raw_vs_kafkajs_raw_pairs.join(', ')}`}`)
  for (const [name, reason] of Object.entries(r.skipped)) out(`skipped ${name}: ${reason}`)
  line('work_vs_kafkajs', r.work_vs_kafkajs, r.targets.work_vs_kafkajs)
  line('work_vs_parallel_consumer', r.work_vs_parallel_consumer, r.targets.work_vs_parallel_consumer)
  line('ctp_noop_vs_handwritten', r.ctp_noop_vs_handwritten, r.targets.ctp_noop_vs_handwritten)
  line('ctp_work_vs_handwritten', r.ctp_work_vs_handwritten, r.targets.ctp_work_vs_handwritten)
  line('eos_vs_alo', r.eos_vs_alo, r.targets.eos_vs_alo)
  out(`${''.padEnd(26)} median of ${r.eos_vs_alo_reps.length} reps: ${r.eos_vs_alo_reps.join(', ')}; ${r.eos_transactions_per_s} transactions/s`)
  line('eos_vs_parallel_consumer', r.eos_vs_parallel_consumer, r.targets.eos_vs_parallel_consumer)
  if (r.offset_map_cost === null) out(`${'offset_map_cost'.padEnd(26)} n/a (--offset-map: both sides have the map)`)
  else line('offset_map_cost', r.offset_map_cost, r.targets.offset_map_cost)
  out(`${''.padEnd(26)} median of ${r.offset_map_cost_pairs.length} back-to-back pairs: ${r.offset_map_cost_pairs.join(', ')}; on CPU time ${r.offset_map_cost_cpu ?? '-'}`)
  for (const [client, j] of Object.entries(r.join ?? {})) {
    // The goal is KIP-848's; kafkajs rebalances eagerly and is the baseline.
    const verdict = client === 'kafkajs' ? '(baseline)' : j.met ? 'met' : 'MISSED'
    out(`${`join ${client}`.padEnd(26)} ${j.protocol}: re-delivered on stayed ${j.redelivered_stayed} (target ${r.targets.join_redelivered_stayed}), window/steady ${j.window_vs_steady ?? '-'} (target >= ${r.targets.join_window_vs_steady}), window ${j.window_ms ?? '-'} ms, ${j.runs.length} runs   ${verdict}`)
  }
}

/** The median to three decimals; NaN for none. */
function medianOf(values: number[]): number {
  return values.length === 0 ? NaN : roundTo(median(values), 3)
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

// Runnable on its own too (`node dist/bench/kafka/suite.js [options]`), e.g. before the dispatcher knows the suite.
if (require.main === module) {
  run(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  })
}
