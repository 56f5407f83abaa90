import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { clientSkipReason } from '../../bench/kafka/runtime'

// Keeps `npm run bench -- kafka` from rotting: runs the suite on a tiny topic, without the JVM case, against
// the test broker (KAFKA_BROKERS, set by the root hooks and inherited), and checks the shape of its JSON
// report. No figure is asserted (no test asserts a wall-clock duration); only that each is there.
describe('bench: kafka suite (smoke)', function () {
  this.timeout(240_000)

  let report: Record<string, unknown>
  before(async () => {
    // Through the dispatcher, as `npm run bench -- kafka` runs it.
    const script = resolve(__dirname, '..', '..', 'bench', 'index.js')
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, [script, 'kafka', '--json', '--records', '5000', '--no-jvm', '--sample-ms', '2000', '--noop-pairs', '1'], { maxBuffer: 16 << 20 }, (error, out, err) =>
        error ? fail(new Error(`${error.message}\n${err}`)) : done(out),
      )
    })
    const lines = stdout.trim().split('\n')
    report = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>
  })

  const positive = (value: unknown): void => {
    expect(value).to.be.a('number')
    expect(Number.isFinite(value) && (value as number) > 0, `${String(value)} is a positive number`).to.equal(true)
  }

  it('prints the headline ratios as the last line of stdout', () => {
    expect(report.suite).to.equal('kafka')
    positive(report.noop_vs_raw)
    // One rep and one more pair: two raw/no-op pairs, each with its ratio, and the same on CPU time.
    expect(report.noop_vs_raw_pairs).to.have.length(2)
    for (const r of report.noop_vs_raw_pairs as unknown[]) positive(r)
    positive(report.noop_vs_raw_cpu)
    positive(report.noop_vs_raw_of_medians)
    positive(report.work_vs_kafkajs)
    expect(report).to.have.property('work_vs_parallel_consumer', null) // --no-jvm
    // Consume-transform-produce (issue 20, part 3), with their targets.
    positive(report.ctp_noop_vs_handwritten)
    positive(report.ctp_work_vs_handwritten)
    expect(report.targets).to.include({ ctp_noop_vs_handwritten: 0.9, ctp_work_vs_handwritten: 5 })
    // Exactly-once (issue 16): against at-least-once in each rep (one here), transactions/s, no JVM.
    positive(report.eos_vs_alo)
    expect(report.eos_vs_alo_reps).to.have.length(1)
    positive((report.eos_vs_alo_reps as unknown[])[0])
    positive(report.eos_transactions_per_s)
    expect(report).to.have.property('eos_vs_parallel_consumer', null) // --no-jvm
    expect(report.targets).to.include({ eos_vs_alo: 0.5, eos_vs_parallel_consumer: 1 })
    // The offset map's cost (issue 17): one ratio per round (the rep's and the extra pair), its target.
    positive(report.offset_map_cost)
    expect(report.offset_map_cost_pairs).to.have.length(2)
    positive(report.offset_map_cost_cpu)
    expect(report.targets).to.include({ offset_map_cost: 0.97 })
    expect(report.join, 'no --join').to.equal(null)
  })

  it('reports records/s and peak RSS for every Node case, and zero lag where the whole topic was consumed', () => {
    const cases = report.cases as Record<string, Record<string, unknown>>
    const ctp = ['ctp_handwritten_noop', 'kafka_rx_ctp_noop', 'ctp_handwritten_work', 'kafka_rx_ctp_work', 'kafka_rx_ctp_eos']
    for (const name of ['raw_each_batch', 'kafka_rx_noop', 'kafka_rx_noop_offset_map', 'each_message_work', 'kafka_rx_work', ...ctp]) {
      expect(cases, name).to.have.property(name)
      positive(cases[name]!.records_per_s)
      positive(cases[name]!.peak_rss_mib)
      positive(cases[name]!.cpu_us_per_record)
      positive(cases[name]!.fetched_mib) // the topic was fetched at least once within the span
      const inBatch = cases[name]!.each_batch_us_per_record
      expect(Number.isFinite(inBatch) && (inBatch as number) >= 0, `${name} each_batch_us_per_record: ${String(inBatch)}`).to.equal(true)
      if (cases[name]!.sampled === false) expect(cases[name]!.lag, `${name} lag`).to.equal(0)
    }
    for (const name of ['raw_each_batch', 'kafka_rx_noop', 'kafka_rx_noop_offset_map', 'kafka_rx_work', ...ctp]) expect(cases[name]!.records, name).to.equal(5_000)
  })

  it('reports heap bytes allocated per record for the consume-transform-produce cases only', () => {
    const cases = report.cases as Record<string, Record<string, unknown>>
    for (const name of ['ctp_handwritten_noop', 'kafka_rx_ctp_noop', 'ctp_handwritten_work', 'kafka_rx_ctp_work', 'kafka_rx_ctp_eos']) positive(cases[name]!.bytes_per_record)
    expect(cases.raw_each_batch!.bytes_per_record).to.equal(null)
  })

  it('reports transactions per second for the exactly-once case only', () => {
    const cases = report.cases as Record<string, Record<string, unknown>>
    positive(cases.kafka_rx_ctp_eos!.transactions_per_s)
    expect(cases.kafka_rx_ctp_noop!.transactions_per_s).to.equal(null)
    expect(cases).not.to.have.property('parallel_consumer_ctp_eos') // --no-jvm
  })

  // Issue 19: the second client's raw case beside kafkajs's, in the same rounds, where this Node runs it (the
  // suite runs under the Node that runs this spec: CI's second pass is Node 24).
  it('runs @platformatic/kafka raw beside kafkajs raw on Node >= 22.22, and says why not on older Node', () => {
    const cases = report.cases as Record<string, Record<string, unknown>>
    const skipped = report.skipped as Record<string, string>
    const reason = clientSkipReason('platformatic')
    if (reason === undefined) {
      expect(skipped).not.to.have.property('platformatic_raw')
      positive(cases.platformatic_raw!.records_per_s)
      positive(cases.platformatic_raw!.cpu_us_per_record)
      expect(cases.platformatic_raw!.records).to.equal(5_000)
      expect(cases.platformatic_raw!.lag, 'platformatic_raw committed the whole topic').to.equal(0)
      positive(report.platformatic_raw_vs_kafkajs_raw)
      expect(report.platformatic_raw_vs_kafkajs_raw_pairs).to.have.length(2) // the rep's round and one more
      // kafka-rx over the same client, no work: its noop_vs_raw (no target asserted, only that it is measured).
      expect(skipped).not.to.have.property('kafka_rx_platformatic_noop')
      positive(cases.kafka_rx_platformatic_noop!.records_per_s)
      expect(cases.kafka_rx_platformatic_noop!.records).to.equal(5_000)
      expect(cases.kafka_rx_platformatic_noop!.lag, 'kafka_rx_platformatic_noop committed the whole topic').to.equal(0)
      positive((report.noop_vs_raw_by_client as Record<string, unknown>).platformatic)
    } else {
      expect(skipped.platformatic_raw).to.equal(reason)
      expect(cases).not.to.have.property('platformatic_raw')
      expect(report.platformatic_raw_vs_kafkajs_raw).to.equal(null)
      expect(skipped.kafka_rx_platformatic_noop).to.equal(reason)
      expect((report.noop_vs_raw_by_client as Record<string, unknown>).platformatic).to.equal(null)
    }
    const byClient = report.noop_vs_raw_by_client as Record<string, unknown>
    positive(byClient.kafkajs)
    expect(byClient.kafkajs).to.equal(report.noop_vs_raw)
    expect(byClient).to.have.property('platformatic')
  })

  it('names the machine and the configuration', () => {
    const machine = report.machine as Record<string, unknown>
    positive(machine.nproc)
    expect(machine.node).to.be.a('string')
    expect((report.config as Record<string, unknown>).records).to.equal(5_000)
  })
})

// Issue 19's join measure, small: the paired rounds only (--reps 0, one round), then one join per client.
// Checked: each client that runs reports a join in which the second member took partitions, every record
// produced was finished, and the figures are there; no figure is held to its target here.
describe('bench: kafka suite --join (smoke)', function () {
  this.timeout(300_000)

  let report: Record<string, unknown>
  before(async () => {
    const script = resolve(__dirname, '..', '..', 'bench', 'index.js')
    const args = ['kafka', '--json', '--records', '1000', '--no-jvm', '--reps', '0', '--noop-pairs', '1', '--join', '--join-steady-ms', '2000', '--join-after-ms', '1000']
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, [script, ...args], { maxBuffer: 16 << 20 }, (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done(out)))
    })
    const lines = stdout.trim().split('\n')
    report = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>
  })

  it('runs only the paired rounds with --reps 0, offset_map_cost among them', () => {
    const cases = report.cases as Record<string, Record<string, unknown>>
    expect(cases).to.have.property('kafka_rx_noop_offset_map')
    expect(cases).not.to.have.property('kafka_rx_work')
    expect(report.offset_map_cost_pairs).to.have.length(1)
    expect(cases.kafka_rx_noop_offset_map!.lag, 'the offset map case committed the whole topic').to.equal(0)
  })

  it('reports, for each client this Node runs, a join in which the second member took partitions and nothing was lost', () => {
    const join = report.join as Record<string, Record<string, unknown>>
    const skipped = report.skipped as Record<string, string>
    const reason = clientSkipReason('platformatic')
    const clients = reason === undefined ? ['kafkajs', 'platformatic'] : ['kafkajs']
    if (reason !== undefined) {
      expect(join).not.to.have.property('platformatic')
      expect(skipped.join_platformatic).to.equal(reason)
    }
    expect(report.targets).to.include({ join_redelivered_stayed: 0, join_window_vs_steady: 0.8 })
    for (const client of clients) {
      const summary = join[client]!
      expect(summary.protocol, client).to.equal(client === 'kafkajs' ? 'eager (classic)' : 'KIP-848 (consumer)')
      const [run] = summary.runs as Record<string, unknown>[]
      expect(run!.second_delivered, `${client}: the second member delivered`).to.equal(true)
      expect(run!.unfinished, `${client}: every record produced was finished`).to.equal(0)
      positive(run!.produced)
      positive(run!.window_ms)
      positive(run!.steady_records_per_s)
      const stayed = run!.stayed_partitions as number[]
      const moved = run!.moved_partitions as number[]
      expect(moved.length, `${client}: partitions moved`).to.be.greaterThan(0)
      expect(stayed.length, `${client}: partitions stayed`).to.be.greaterThan(0)
      expect([...stayed, ...moved].sort((x, y) => x - y), `${client}: every partition`).to.deep.equal([0, 1, 2, 3, 4, 5])
      expect(run!.redelivered_stayed).to.be.a('number')
      expect(summary.redelivered_stayed).to.equal(run!.redelivered_stayed)
      expect(summary.window_vs_steady).to.equal(run!.window_vs_steady)
    }
  })

  function positive(value: unknown): void {
    expect(Number.isFinite(value) && (value as number) > 0, `${String(value)} is a positive number`).to.equal(true)
  }
})
