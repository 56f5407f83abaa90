import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

// Keeps `npm run bench -- session` (and session-cold) from rotting: runs it small and checks its JSON report's
// shape. No figure is asserted (no test asserts a wall-clock duration), except that every record went through
// the pipeline.

/** Runs a suite through the dispatcher with `--json` and parses the report on its last line of stdout. */
async function reportOf(args: string[]): Promise<Record<string, unknown>> {
  const script = resolve(__dirname, '..', 'bench', 'index.js')
  const stdout = await new Promise<string>((done, fail) => {
    execFile(process.execPath, [script, ...args, '--json'], { maxBuffer: 1 << 20 }, (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done(out)))
  })
  const lines = stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>
}

describe('bench: session suite (smoke)', function () {
  this.timeout(60_000)

  it('prints ns, GC and bytes per record as the last line of stdout', async () => {
    const report = await reportOf(['session', '--rounds', '2', '--warmup-rounds', '1', '--batches', '12', '--batch-size', '500'])
    expect(report.suite).to.equal('session')
    // The suite throws when a round's records did not all come out of the pipeline: this count is checked.
    expect(report.records_per_round).to.equal(6_000)
    expect(report.rounds_ns_per_record).to.be.an('array').with.lengthOf(2)
    for (const field of ['ns_per_record', 'gc_ns_per_record']) {
      expect(Number.isFinite(report[field]) && (report[field] as number) >= 0, `${field}: ${String(report[field])}`).to.equal(true)
    }
    // Null only when no window of the five tried was free of a GC.
    if (report.bytes_per_record !== null) expect(report.bytes_per_record).to.be.a('number').above(0)
  })

  it('session-cold: prints ns per record of fresh processes, and the first batch apart, as the last line', async () => {
    const report = await reportOf(['session-cold', '--processes', '2', '--batches', '4', '--batch-size', '500'])
    expect(report.suite).to.equal('session-cold')
    expect(report.records).to.equal(2_000)
    expect(report.processes_ns_per_record).to.be.an('array').with.lengthOf(2)
    for (const field of ['ns_per_record', 'first_batch_ms', 'after_first_ns_per_record', 'gc_ns_per_record']) {
      expect(Number.isFinite(report[field]) && (report[field] as number) >= 0, `${field}: ${String(report[field])}`).to.equal(true)
    }
  })

  it('refuses an unknown option', async () => {
    const script = resolve(__dirname, '..', 'bench', 'index.js')
    const failure = await new Promise<string>((done) => {
      execFile(process.execPath, [script, 'session', '--recs', '5'], (error, _out, err) => done(error === null ? '' : err))
    })
    expect(failure).to.match(/unknown option --recs/)
  })
})
