/** Figures of one case at one size: time from the timed runs (median), memory from the memory run. */
export interface CaseFigures {
  records: number
  runs_ms: number[]
  ms: number
  records_per_s: number
  ns_per_record: number
  cpu_ms: number
  cpu_ns_per_record: number
  peak_rss_mib: number
  peak_heap_used_mib: number
  heap_before_mib: number
  heap_after_gc_mib: number
  rss_after_gc_mib: number
}

/** The latency-bound run: throughput against what Little's law allows for the measured durations. */
export interface LatencyFigures {
  records: number
  concurrency: number
  projection_ms: number
  runs_ms: number[]
  ms: number
  records_per_s: number
  mean_projection_ms: number
  littles_law_bound_per_s: number
  littles_law: number
}

/** The operators suite's report; `--json` prints it as one line. */
export interface OperatorsReport {
  suite: 'operators'
  gbkc_vs_naive: number
  gbkc_vs_naive_promise: number
  chain_vs_naive: number
  gbkc_vs_naive_cpu: number
  gbkc_vs_naive_promise_cpu: number
  chain_vs_naive_cpu: number
  scaling: number
  scaling_cpu: number
  scaling_promise: number
  scaling_promise_cpu: number
  littles_law: number
  /** Median over paired runs in one process of chain_sync_stats ms / chain_sync ms, minus 1: what live stats cost. */
  stats_cost: number
  stats_cost_cpu: number
  /** Every pair's ratio. */
  stats_cost_pairs: number[]
  stats_cost_target: number
  /** Median over paired runs in one process of batchByKey ms / naive batcher ms (issue 5: at most 1.5), and on CPU time. */
  batcher_vs_naive: number
  batcher_vs_naive_cpu: number
  /** Every pair's ratio. */
  batcher_vs_naive_pairs: number[]
  /** The `batcher` case's median ms / the `naive_batcher` case's, each from processes of its own, and on CPU time. */
  batcher_vs_naive_separate: number
  batcher_vs_naive_separate_cpu: number
  targets: { gbkc_vs_naive: number; chain_vs_naive: number; scaling: number; littles_law: number; batcher_vs_naive: number }
  config: { records: number; keys: number; partitions: number; concurrency: number; reps: number; naiveReps: number; json: boolean; sizes: number[] } & Record<
    string,
    unknown
  >
  cases: Record<string, CaseFigures>
  scaling_detail: Record<
    string,
    {
      /** In one process (bench/operators/scaling.ts): per size the median over processes. */
      ns_per_record: Record<string, number>
      /** What `scaling` uses: each process's largest / smallest, then their median (a paired statistic). */
      ratio: number
      cpu_ns_per_record: Record<string, number>
      cpu_ratio: number
      per_process_ratio: number[]
      /** Largest / smallest of the per-size medians over processes (pooled: the pairing within a process lost). */
      pooled_ratio: number
      runs_ns_per_record: number[][][]
      /** Each size in processes of its own, like the cases: their medians and ratio, and memory. */
      separate_ns_per_record: Record<string, number>
      separate_ratio: number
      sizes: CaseFigures[]
    }
  >
  latency: LatencyFigures
  total_s: number
}

/** Prints the report as a table, then with `--json` as one JSON object on the last line of stdout. */
export function printOperatorsReport(report: OperatorsReport): void {
  const { targets: t, config: c } = report
  const pad = (s: string | number, n: number): string => String(s).padStart(n)
  const verdict = (value: number, target: number, atLeast: boolean): string => ((atLeast ? value >= target : value <= target) ? 'met' : 'MISSED')
  const out: string[] = [
    `records ${c.records}, keys ${c.keys}, partitions ${c.partitions}, concurrency ${c.concurrency}; median of ${c.reps} interleaved runs (naive cases: ${Math.min(c.naiveReps, c.reps)})`,
    '',
    'headline (wall time)             value   target        on cpu time',
    `gbkc_vs_naive (sync)          ${pad(report.gbkc_vs_naive, 8)}   >= ${t.gbkc_vs_naive}   ${verdict(report.gbkc_vs_naive, t.gbkc_vs_naive, true).padEnd(6)} ${pad(report.gbkc_vs_naive_cpu, 8)}`,
    `gbkc_vs_naive (promise)       ${pad(report.gbkc_vs_naive_promise, 8)}                ${pad(report.gbkc_vs_naive_promise_cpu, 8)}`,
    `chain_vs_naive (sync)         ${pad(report.chain_vs_naive, 8)}   >= ${t.chain_vs_naive}   ${verdict(report.chain_vs_naive, t.chain_vs_naive, true).padEnd(6)} ${pad(report.chain_vs_naive_cpu, 8)}`,
    `scaling (sync)                ${pad(report.scaling, 8)}   <= ${t.scaling} ${verdict(report.scaling, t.scaling, false).padEnd(6)} ${pad(report.scaling_cpu, 8)}`,
    `scaling (promise)             ${pad(report.scaling_promise, 8)}                ${pad(report.scaling_promise_cpu, 8)}`,
    `littles_law                   ${pad(report.littles_law, 8)}   >= ${t.littles_law} ${verdict(report.littles_law, t.littles_law, true)}`,
    `stats_cost (chain, stats on)  ${pad(report.stats_cost, 8)}   < ${report.stats_cost_target}  ${(report.stats_cost < report.stats_cost_target ? 'met' : 'MISSED').padEnd(6)} ${pad(report.stats_cost_cpu, 8)}`,
    `batcher_vs_naive (cost)       ${pad(report.batcher_vs_naive, 8)}   <= ${t.batcher_vs_naive}  ${verdict(report.batcher_vs_naive, t.batcher_vs_naive, false).padEnd(6)} ${pad(report.batcher_vs_naive_cpu, 8)}`,
    `batcher_vs_naive (separate)   ${pad(report.batcher_vs_naive_separate, 8)}                ${pad(report.batcher_vs_naive_separate_cpu, 8)}`,
    '',
    `case @ ${c.records}`.padEnd(20) + '        ms   records/s   ns/rec  cpu ns/rec  peak heap MiB  heap after GC MiB',
  ]
  for (const [name, f] of Object.entries(report.cases)) {
    out.push(
      `${name.padEnd(20)} ${pad(f.ms, 9)} ${pad(f.records_per_s, 11)} ${pad(f.ns_per_record, 8)} ${pad(f.cpu_ns_per_record, 11)} ${pad(f.peak_heap_used_mib, 14)} ${pad(f.heap_after_gc_mib, 18)}`,
    )
  }
  out.push('', 'scaling              records   ns/rec  cpu ns/rec  separate ns/rec  peak heap MiB  peak rss MiB  heap before / after GC MiB')
  for (const [name, s] of Object.entries(report.scaling_detail)) {
    for (const f of s.sizes) {
      out.push(
        `${name.padEnd(14)} ${pad(f.records, 12)} ${pad(s.ns_per_record[f.records]!, 8)} ${pad(s.cpu_ns_per_record[f.records]!, 11)} ${pad(f.ns_per_record, 16)} ${pad(f.peak_heap_used_mib, 14)} ${pad(f.peak_rss_mib, 13)}  ${f.heap_before_mib} / ${f.heap_after_gc_mib}`,
      )
    }
    out.push(`${''.padEnd(14)} largest / smallest ns/rec in one process: ${s.ratio} wall, ${s.cpu_ratio} cpu (median of per process: ${s.per_process_ratio.join(', ')}); pooled ${s.pooled_ratio}; ${s.separate_ratio} in separate processes`)
  }
  const l = report.latency
  out.push(
    '',
    `latency-bound: ${l.records} records, ${l.projection_ms} ms timer each, concurrency ${l.concurrency}: ${l.ms} ms, ${l.records_per_s} records/s`,
    `  mean measured projection ${l.mean_projection_ms} ms -> Little's law bound ${l.littles_law_bound_per_s} records/s -> ratio ${l.littles_law}`,
    `total ${report.total_s} s`,
  )
  if (report.config.json) out.push(JSON.stringify(report))
  process.stdout.write(`${out.join('\n')}\n`)
}
