import { randomBytes } from 'node:crypto'
import { ensureKafka } from '../../lib/testing/kafka-broker'
import type { NodeCaseName } from '../kafka/cases'
import { DEFAULTS, produce, runNodeCase } from '../kafka/suite'

/**
 * `npm run bench -- soak [--runs N] [--records N]`: the two kafka-rx cases of the kafka suite, run again and
 * again on one topic, each with a fresh group, looking for the rare failures one run does not show: a
 * pipeline that stalls (no progress until the case's timeout), a shutdown whose `closed()` never settles,
 * or a group left with lag. Prints one line per run and a summary; exits non-zero if any run failed.
 * Figures are not the point (see the kafka suite for those); run it on a loaded machine too.
 */
export async function run(args: string[]): Promise<void> {
  const options = { ...DEFAULTS, records: 50_000, runs: 10 }
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]
    const value = Number(args[++i])
    if ((flag !== '--runs' && flag !== '--records') || !Number.isInteger(value) || value < 1) {
      throw new Error(`soak: bad option ${String(flag)} ${String(args[i])} (options: --runs N, --records N)`)
    }
    options[flag === '--runs' ? 'runs' : 'records'] = value
  }
  const broker = await ensureKafka({ jvmArgs: [] })
  const failures: string[] = []
  try {
    const topic = `soak-${randomBytes(3).toString('hex')}`
    await produce(broker.brokers, topic, options)
    const cases: NodeCaseName[] = ['kafka_rx_work', 'kafka_rx_noop']
    for (let run = 1; run <= options.runs; run++) {
      for (const name of cases) {
        const spec = {
          name, brokers: broker.brokers, topic, groupId: `${topic}-${name}-${run}`, records: options.records,
          partitions: options.partitions, workMs: options.workMs, concurrency: options.concurrency,
          maxInFlight: options.maxInFlight, timeoutMs: 60_000,
        }
        // A stall ends in the case's own timeout, which rejects with how far it got.
        const outcome = await runNodeCase(spec, false).then(
          (r) => (r.closed && r.lag === 0 ? `ok (${Math.round(r.records_per_s)} records/s)` : `FAILED: closed ${r.closed}, lag ${r.lag}`),
          (error: unknown) => `FAILED: ${String(error).split('\n')[0]}`,
        )
        if (outcome.startsWith('FAILED')) failures.push(`run ${run} ${name}: ${outcome}`)
        process.stdout.write(`run ${run}/${options.runs} ${name.padEnd(14)} ${outcome}\n`)
      }
    }
  } finally {
    await broker.stop()
  }
  process.stdout.write(`soak: ${options.runs * 2} runs of ${options.records} records, ${failures.length} failed\n`)
  if (failures.length > 0) process.exitCode = 1
}
