/**
 * `npm run bench -- kafka-eos [--json] [--records N] [--partitions N] [--reps N] [--max-in-flight N]`: just the exactly-once pair
 * of the kafka suite (suite.ts), for a quick look: `kafka_rx_ctp_noop` (at-least-once `publish` +
 * `commitOffsets`) and `kafka_rx_ctp_eos` (`publishTransactional`, defaults) on the same
 * consume-transform-produce workload, each in a child process of its own, alternated `--reps` times. Prints
 * `eos_vs_alo` (median of the reps' ratios; target >= 0.5) and transactions/s. The full comparison, with
 * Parallel Consumer's transactional mode, is `npm run bench -- kafka`.
 */
import { randomBytes } from 'node:crypto'
import { ensureKafka } from '../../lib/testing/kafka-broker'
import { median, roundTo } from '../shared/measure'
import type { CaseResult, NodeCaseName } from './cases'
import { DEFAULTS, produce, runNodeCase } from './suite'

/** Runs the pair (the bench dispatcher calls this). */
export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`)
    return i === -1 ? def : Number(args[i + 1])
  }
  const o = {
    ...DEFAULTS, records: opt('records', 100_000), partitions: opt('partitions', DEFAULTS.partitions), reps: opt('reps', 2),
    maxInFlight: opt('max-in-flight', DEFAULTS.maxInFlight),
  }
  const broker = await ensureKafka({ jvmArgs: [] })
  try {
    const topic = `bench-eos-${randomBytes(3).toString('hex')}`
    await produce(broker.brokers, topic, o)
    const passes: CaseResult[] = []
    const ratios: number[] = []
    for (let rep = 1; rep <= o.reps; rep++) {
      const results: Partial<Record<NodeCaseName, CaseResult>> = {}
      for (const name of ['kafka_rx_ctp_noop', 'kafka_rx_ctp_eos'] as const) {
        const result = await runNodeCase({
          name, brokers: broker.brokers, topic, groupId: `${topic}-${name}-${rep}`, records: o.records, partitions: o.partitions,
          workMs: 0, concurrency: o.concurrency, maxInFlight: o.maxInFlight, timeoutMs: Math.max(120_000, o.records / 10),
        }, false)
        results[name] = result
        passes.push(result)
        process.stderr.write(`  rep ${rep} ${name}: ${result.records_per_s} records/s, ${result.transactions_per_s ?? '-'} transactions/s, lag ${result.lag}\n`)
      }
      ratios.push(roundTo(results.kafka_rx_ctp_eos!.records_per_s / results.kafka_rx_ctp_noop!.records_per_s, 3))
    }
    const eosRuns = passes.filter((p) => p.name === 'kafka_rx_ctp_eos')
    const report = {
      records: o.records, partitions: o.partitions, max_in_flight: o.maxInFlight, passes, eos_vs_alo: roundTo(median(ratios), 3), eos_vs_alo_reps: ratios,
      transactions_per_s: roundTo(median(eosRuns.map((p) => p.transactions_per_s ?? NaN)), 1), targets: { eos_vs_alo: 0.5 },
    }
    process.stdout.write(`eos_vs_alo ${report.eos_vs_alo} (target >= 0.5; reps ${ratios.join(', ')}), transactions/s ${report.transactions_per_s}\n`)
    if (args.includes('--json')) process.stdout.write(JSON.stringify(report) + '\n')
  } finally {
    await broker.stop()
  }
}
