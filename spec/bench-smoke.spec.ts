import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

// Keeps `npm run bench -- operators` from rotting: runs the suite on a small input and checks the shape of
// its JSON report. No figure is asserted (no test asserts a wall-clock duration); only that each is there.
describe('bench: operators suite (smoke)', function () {
  this.timeout(180_000)

  let report: Record<string, unknown>
  before(async () => {
    const script = resolve(__dirname, '..', 'bench', 'index.js')
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, [script, 'operators', '--json', '--records', '10000', '--reps', '1'], { maxBuffer: 16 << 20 }, (error, out, err) =>
        error ? fail(new Error(`${error.message}\n${err}`)) : done(out),
      )
    })
    const lines = stdout.trim().split('\n')
    report = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>
  })

  const positive = (value: unknown): void => {
    expect(value).to.be.a('number')
    expect(Number.isFinite(value) && (value as number) > 0, `${String(value)} is a positive number`).to.equal(true)
  }

  it('prints the headline ratios as the last line of stdout', () => {
    for (const field of ['gbkc_vs_naive', 'gbkc_vs_naive_promise', 'chain_vs_naive', 'gbkc_vs_naive_cpu', 'gbkc_vs_naive_promise_cpu', 'chain_vs_naive_cpu', 'scaling', 'scaling_cpu', 'scaling_promise', 'littles_law']) {
      positive(report[field])
    }
  })

  it('reports what batchByKey costs over the naive batcher, and its target (issue 5)', () => {
    // Paired in one process (the headline), and the two cases' separate-process medians beside it.
    for (const field of ['batcher_vs_naive', 'batcher_vs_naive_cpu', 'batcher_vs_naive_separate', 'batcher_vs_naive_separate_cpu']) positive(report[field])
    expect(report.batcher_vs_naive_pairs).to.be.an('array').that.is.not.empty
    expect((report.targets as Record<string, unknown>).batcher_vs_naive).to.equal(1.5)
  })

  it('reports records/s, ms and memory for every case', () => {
    const cases = report.cases as Record<string, Record<string, unknown>>
    const batcherCases = ['batcher', 'naive_batcher']
    for (const name of ['source_only', 'gbkc_sync', 'naive_sync', 'gbkc_promise', 'naive_promise', 'chain_sync', 'naive_chain_sync', ...batcherCases]) {
      expect(cases, name).to.have.property(name)
      for (const field of ['ms', 'records_per_s', 'ns_per_record', 'cpu_ns_per_record', 'peak_rss_mib', 'peak_heap_used_mib', 'heap_after_gc_mib']) {
        positive(cases[name][field])
      }
      expect(cases[name].records).to.equal(10_000)
    }
  })

  it('reports the per-record cost and peak memory per size', () => {
    const detail = report.scaling_detail as Record<string, { ns_per_record: Record<string, number>; sizes: Record<string, unknown>[]; ratio: number; pooled_ratio: number; per_process_ratio: number[] }>
    for (const name of ['gbkc_sync', 'chain_sync', 'gbkc_promise']) {
      expect(Object.keys(detail[name].ns_per_record)).to.have.members(['1000', '10000', '30000'])
      // One scaling process with --reps 1: the paired ratio is that process's own.
      expect(detail[name].per_process_ratio).to.deep.equal([detail[name].ratio])
      positive(detail[name].pooled_ratio)
      for (const size of detail[name].sizes) for (const field of ['peak_rss_mib', 'peak_heap_used_mib', 'heap_after_gc_mib']) positive(size[field])
    }
  })

  it("reports the latency-bound run behind Little's law", () => {
    const latency = report.latency as Record<string, unknown>
    for (const field of ['records_per_s', 'mean_projection_ms', 'littles_law_bound_per_s', 'littles_law']) positive(latency[field])
    expect(latency.records).to.equal(1000)
  })

  it('reports what live stats cost: chain_sync_stats against chain_sync', () => {
    expect(report.stats_cost_pairs).to.be.an('array').that.is.not.empty
    for (const field of ['stats_cost', 'stats_cost_cpu']) {
      // A fraction that may be negative on a noisy run: only that it is a finite number.
      expect(Number.isFinite(report[field]), `${field}: ${String(report[field])}`).to.equal(true)
    }
    expect(report.stats_cost_target).to.equal(0.05)
  })
})

// The developer's tool that compares one case between two builds (here the same build twice): its output line.
describe('bench: compare-builds (smoke)', function () {
  this.timeout(60_000)
  const dist = resolve(__dirname, '..')
  const script = resolve(dist, 'bench', 'operators', 'compare-builds.js')
  const runTool = (args: string[]): Promise<{ out: string; err: string; failed: boolean }> =>
    new Promise((done) => {
      execFile(process.execPath, ['--expose-gc', script, ...args], { maxBuffer: 1 << 20 }, (error, out, err) => done({ out, err, failed: error !== null }))
    })

  it('prints both builds\' medians and the per-pair ratios', async () => {
    const { out, err, failed } = await runTool([dist, dist, 'source_only', '2'])
    expect(failed, err).to.equal(false)
    expect(out).to.match(/^source_only @1000000: A \d+ ms, B \d+ ms \(medians\); B\/A per pair \d+\.\d\d \d+\.\d\d\n$/)
  })

  it('names a case the build does not have', async () => {
    const { err, failed } = await runTool([dist, dist, 'no_such_case', '1'])
    expect(failed).to.equal(true)
    expect(err).to.match(/no case no_such_case/)
  })
})
