import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

// Keeps `npm run bench -- kafka-churn` from rotting: a small run (8,000 records, a member leaving and one
// joining every second) against the test broker (KAFKA_BROKERS, inherited), through the dispatcher. The run
// itself fails unless every record ran and the group committed the end offsets; here the JSON report's shape
// and its arithmetic are checked. No share is asserted: a small run's figure says nothing (BENCHMARKS.md).
describe('bench: kafka-churn (smoke)', function () {
  this.timeout(400_000)

  it('runs each mode to the end and reports its re-processed share', async () => {
    const script = resolve(__dirname, '..', '..', 'bench', 'index.js')
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, [script, 'kafka-churn', '--json', '--records', '8000', '--churn-ms', '1000', '--modes', 'off,drain'], { maxBuffer: 16 << 20 }, (error, out, err) =>
        error ? fail(new Error(`${error.message}\n${err}`)) : done(out),
      )
    })
    const lines = stdout.trim().split('\n')
    const report = JSON.parse(lines[lines.length - 1]!) as { records: number; results: { mode: string; reprocessed: number; reprocessed_share: number; churns: number; joins: number }[] }
    expect(report.records).to.equal(8000)
    expect(report.results.map((r) => r.mode)).to.deep.equal(['off', 'drain'])
    for (const r of report.results) {
      expect(r.reprocessed, r.mode).to.be.at.least(0)
      expect(r.reprocessed_share, r.mode).to.be.closeTo(r.reprocessed / 8000, 1e-5)
      // At least the three first members joined; churns are whatever fitted in the run.
      expect(r.joins, r.mode).to.be.at.least(3)
      expect(r.churns, r.mode).to.be.at.least(0)
    }
  })
})
