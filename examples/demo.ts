/**
 * The kafka-rx demo, the first thing to run: `npm run demo` (flags: `npm run demo -- --help`).
 *
 * 1. Starts a local Kafka broker (unless `KAFKA_BROKERS` names one) and creates `orders-<run>` (12 partitions)
 *    and `charges-<run>`.
 * 2. Produces 200,000 orders over 5,000 customers, a few of them very hot (Zipf).
 * 3. Charges them with a kafka-rx pipeline (`demo-pipeline.ts`), shown live from the library's own
 *    `pipelineStats` (rate, in flight, active keys, lag per partition), as a service would show them:
 *
 *    fromKafka ─▶ groupByKeyConcat(customer, charge, 512 at once) ─▶ orderedMerge ─▶ publish ─▶ commitOffsets
 *                 one customer at a time,                            partition      to charges,  gap-safe,
 *                 many customers concurrently                        order again    acks -1      every second
 *
 * 4. Stops once every produced record is committed, and checks the outcome from its own bookkeeping
 *    (`DemoLedger`) and from the broker: nothing lost, per-customer order kept, zero lag. The last line says
 *    so; the exit code is 0 only when it holds. Ctrl-C (or SIGTERM) stops gracefully: it aborts the source's
 *    `signal`, so nothing more is fetched, the records in flight finish (up to `--drain-timeout-ms`), the
 *    final commit is acknowledged, then consumer, producer and broker stop. A second Ctrl-C quits at once.
 */
import { randomBytes } from 'node:crypto'
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs'
import type { LocalKafka } from '../lib/testing/kafka-broker'
import { parseDemoArgs } from './demo-args'
import { duration } from './demo-display'
import { committedOffsets, endOffsets, orderConsumer } from './demo-kafka'
import { DemoLedger } from './demo-ledger'
import { COMMIT_INTERVAL_MS, orderSource } from './demo-pipeline'
import { runPipeline } from './demo-pipeline-run'
import { Interrupt, KafkaLogs, startBroker, stopBroker } from './demo-process'
import { produceWithProgress } from './demo-produce'
import { printSummary } from './demo-report'
import { DemoScreen } from './demo-screen'

const out = process.stdout
const screen = new DemoScreen(out)

async function main(): Promise<number> {
  const parsed = parseDemoArgs(process.argv.slice(2))
  if (parsed.kind === 'help') {
    out.write(parsed.text)
    return 0
  }
  if (parsed.kind === 'error') {
    process.stderr.write(parsed.text)
    return 2
  }
  const options = parsed.options
  const startedAt = Date.now()
  const interrupt = new Interrupt(() => screen.announce(
    `Stopping: nothing more is fetched; the records in flight finish (up to ${duration(options.drainTimeoutMs)}), ` +
    'then the final commit, disconnect, stop the broker. (Ctrl-C again to quit at once.)'))
  const run = randomBytes(3).toString('hex')
  const input = `orders-${run}`
  const output = `charges-${run}`

  let broker: LocalKafka | undefined
  let admin: Admin | undefined
  let producer: Producer | undefined
  const kafkaLogs = new KafkaLogs()
  try {
    broker = await startBroker(out)
    if (interrupt.requested) return interrupt.exitCode

    const kafka = new Kafka({
      clientId: `kafka-rx-demo-${run}`,
      brokers: broker.brokers,
      logLevel: logLevel.ERROR,
      logCreator: kafkaLogs.creator,
    })
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      waitForLeaders: true,
      topics: [input, output].map(topic => ({ topic, numPartitions: options.partitions })),
    })
    screen.say(`Created ${input} and ${output}, ${options.partitions} partitions each.`)
    // Ctrl-C aborts it: the source stops fetching and drains (see runPipeline).
    const shutdown = new AbortController()
    interrupt.onRequest(() => shutdown.abort())

    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
    await producer.connect()
    const workload = await produceWithProgress(producer, input, options, interrupt, screen)
    const ends = await endOffsets(admin, input, options.partitions)

    const ledger = new DemoLedger(workload.records, workload.perPartition)
    const groupId = `kafka-rx-demo-${run}`
    const source = orderSource(orderConsumer(kafka, groupId, options), input, options, shutdown.signal)
    const result = await runPipeline(source, producer, ledger, { input, output, ends, options, interrupt }, screen)

    const { lag: finalLag, committed } = await committedOffsets(admin, groupId, input, options.partitions)
    const committedUnforwarded = ledger.committedUnforwarded(committed)
    const outputRecords = sum(await endOffsets(admin, output, options.partitions))
    await producer.disconnect()
    await admin.disconnect()
    producer = admin = undefined
    // Every check the summary marks, not only the three of the last line.
    const ok = ledger.lost === 0 && ledger.keyOrderViolations === 0 && ledger.partitionOrderViolations === 0 &&
      finalLag === 0 && committedUnforwarded === 0 && ledger.unexpected === 0 && result.error === undefined &&
      ledger.maxRunning <= options.concurrency && result.peakInFlight <= options.maxInFlight
    printSummary(out, {
      ledger, workload, options, result, finalLag, committedUnforwarded, outputRecords, output, kafkaLogs,
      commitIntervalMs: COMMIT_INTERVAL_MS, wallMs: Date.now() - startedAt,
    })
    await stopBroker(broker, out)
    screen.say(`demo: ${ledger.processed} records, lost ${ledger.lost}, key-order violations ${ledger.keyOrderViolations}, final lag ${finalLag}`)
    if (interrupt.requested) return interrupt.exitCode
    return ok ? 0 : 1
  } catch (error) {
    screen.endStatus()
    process.stderr.write(`\ndemo: failed: ${(error as Error)?.stack ?? String(error)}\n`)
    for (const line of kafkaLogs.last) process.stderr.write(`  kafkajs: ${line}\n`)
    return interrupt.requested ? interrupt.exitCode : 1
  } finally {
    await producer?.disconnect().catch(() => undefined)
    await admin?.disconnect().catch(() => undefined)
    if (broker !== undefined) await stopBroker(broker, out)
    interrupt.dispose()
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

main().then(
  code => out.write('', () => process.exit(code)),
  error => {
    process.stderr.write(`demo: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(1)
  },
)
