// The demo (`npm run demo`) as a new user runs it, but small: the compiled examples/demo.js as a child
// process against the suite's broker (KAFKA_BROKERS, set by the root hook, is inherited), judged by its exit
// code and its last line, which the demo computes from its own bookkeeping and from the broker.
import { spawn } from 'node:child_process'
import * as path from 'node:path'
import { expect } from 'chai'
import { testBrokers } from './broker-hooks'

const DEMO = path.resolve(__dirname, '../../examples/demo.js')
const LAST_LINE = /^demo: (\d+) records, lost (\d+), key-order violations (\d+), final lag (\d+)$/

interface DemoRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the demo; `onOutput` sees stdout as it grows and may signal the child. */
function runDemo(args: string[], onOutput?: (stdout: string, child: ReturnType<typeof spawn>) => void): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], {
      env: { ...process.env, KAFKA_BROKERS: testBrokers().join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
      onOutput?.(stdout, child)
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

function lastLine(run: DemoRun): { records: number; lost: number; violations: number; lag: number } {
  const lines = run.stdout.trimEnd().split('\n')
  const match = LAST_LINE.exec(lines[lines.length - 1] ?? '')
  if (match === null) {
    throw new Error(`the demo did not end with its result line (exit ${run.code}).\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  }
  const [records, lost, violations, lag] = match.slice(1).map(Number) as [number, number, number, number]
  return { records, lost, violations, lag }
}

/** A count from the demo's summary table: `  ✓ <label>   1,234  note`. */
function summaryCount(run: DemoRun, label: string): number {
  const match = new RegExp(`^  . ${label} +([\\d,]+)  `, 'm').exec(run.stdout)
  if (match === null) throw new Error(`no "${label}" row in the summary:\n${run.stdout}`)
  return Number(match[1]!.replace(/,/g, ''))
}

describe('integration: the demo (examples/demo.ts)', () => {
  it('processes every record in key order, commits all of it, and says so with exit code 0', async function () {
    this.timeout(180_000)
    // 200 customers for 5,000 orders: ~25 per customer, so per-key order is really exercised.
    const run = await runDemo(['--records', '5000', '--keys', '200', '--concurrency', '64', '--max-in-flight', '1000'])
    const result = lastLine(run)
    expect(result, run.stdout).to.deep.equal({ records: 5000, lost: 0, violations: 0, lag: 0 })
    // (Seen to fail with key-order violations when groupByKeyConcat is swapped for a plain mergeMap, and with
    // lost 1 when the pipeline drops one order.)
    expect(run.code, run.stderr).to.equal(0)
    // Not a TTY: compact status lines, never ANSI redraws.
    expect(run.stdout).to.not.include('\x1b[')
  })

  it('stops gracefully on SIGINT: drains, exit code 130, the result line, and never a commit past unprocessed work', async function () {
    this.timeout(180_000)
    let sent = false
    const run = await runDemo(['--records', '40000', '--keys', '500', '--work-ms', '3', '--concurrency', '16'], (stdout, child) => {
      // Interrupt once the pipeline has committed something, well before it can finish.
      if (!sent && /committed [1-9][\d,]* \//.test(stdout)) {
        sent = true
        child.kill('SIGINT')
      }
    })
    expect(sent, run.stdout).to.equal(true)
    expect(run.code, run.stderr).to.equal(130)
    const result = lastLine(run)
    expect(result.violations).to.equal(0)
    expect(result.records).to.be.greaterThan(0)
    // A commit never passes an unfinished record: no record below a committed offset lacks its output, and
    // what is not committed (lag) covers every record that was not processed and forwarded (lost).
    // (Both fail when OffsetTracker's watermark jumps to the fetch position: seen by mutating
    // EpochProgress.finish to `this.watermark = this.position`.)
    expect(summaryCount(run, 'committed, not forwarded'), run.stdout).to.equal(0)
    expect(result.lag).to.be.at.least(result.lost)
    expect(run.stdout).to.include('Summary: interrupted')
    // The stop drained (fromKafka's signal): every record delivered before it finished, was forwarded and
    // committed, so exactly the records never delivered are left, and they are all uncommitted.
    expect(run.stdout).to.match(/in flight at the stop +[\d,]+  drained: all finished/)
    expect(result.lag, run.stdout).to.equal(result.lost)
  })

  it('prints its usage with --help, and refuses a bad flag with exit code 2', async () => {
    const help = await runDemo(['--help'])
    expect(help.code).to.equal(0)
    expect(help.stdout).to.include('--records <n>').and.include('(default 200000)')
    const bad = await runDemo(['--records', 'many'])
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.include('--records must be an integer')
  })
})
