import { spawnSync } from 'node:child_process'

/**
 * Benchmark dispatcher: `node dist/bench/index.js <suite> [--json] [suite options]`.
 *
 * A suite is a module exporting `run(args)`; add one by adding a line to `suites`. Unless node already runs
 * with `--expose-gc`, the dispatcher runs itself again with it (so a run can force a GC to see what it left
 * behind) and a larger heap (a 3,000,000-record backlog takes about 700 MB); `--no-reexec` skips that. Node
 * flags given to the dispatcher reach the suite (and the child processes it forks), e.g.
 * `node --expose-gc --cpu-prof dist/bench/index.js operators` writes one profile per process.
 *
 * @example
 * npm run bench -- operators            # readable table
 * npm run bench -- operators --json     # the table, then one JSON object as the last line of stdout
 */
const suites: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  operators: () => import('./operators/suite.js'),
  kafka: () => import('./kafka/suite.js'),
  soak: () => import('./soak/suite.js'),
  session: () => import('./session/cost.js'),
  'session-cold': () => import('./session/cold.js'),
  'kafka-eos': () => import('./kafka/eos.js'),
  'kafka-churn': () => import('./kafka/churn.js'),
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  const load = name === undefined ? undefined : suites[name]
  if (load === undefined) {
    process.stderr.write(`usage: node dist/bench/index.js <${Object.keys(suites).join('|')}> [--json] [options]\n`)
    return 2
  }
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === 'function'
  if (!hasGc && !args.includes('--no-reexec')) {
    const flags = ['--expose-gc', '--max-old-space-size=4096']
    const child = spawnSync(process.execPath, [...flags, ...process.execArgv, __filename, ...argv], { stdio: 'inherit' })
    if (child.error !== undefined) throw child.error
    return child.status ?? 1
  }
  const suite = await load()
  await suite.run(args.filter((a) => a !== '--no-reexec'))
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    // A suite may have set a failing exit code itself (the soak does when a run failed).
    if (!process.exitCode) process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
