import { spawnSync } from 'node:child_process'

/**
 * Benchmark dispatcher: `node dist/bench/index.js <suite> [--json] [suite options]`.
 *
 * A suite is a module exporting `run(args)`; add one by adding a line to `suites`. Unless node already runs
 * with `--expose-gc`, the dispatcher runs itself again with it (so cases can force a GC between them) and a
 * larger heap (the operators suite holds 3,000,000 records); `--no-reexec` skips that, e.g. under
 * `node --expose-gc --cpu-prof dist/bench/index.js operators`.
 *
 * @example
 * npm run bench -- operators            # readable table
 * npm run bench -- operators --json     # one JSON object, the last line of stdout
 */
const suites: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  operators: () => import('./operators.js'),
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
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
