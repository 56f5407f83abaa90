import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import type { Observable } from 'rxjs'

/** Forces a full GC when node runs with --expose-gc (the dispatcher re-execs node with it); else a no-op. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    gc()
    gc() // a second pass collects what the first one's finalizers released
  }
}

/** Peak memory seen during a run, in bytes. */
export interface MemoryPeak {
  rss: number
  heapUsed: number
}

/**
 * Samples memory from two places: the source calls `sample()` every 16384 records (a synchronous run
 * blocks the event loop, so no timer could fire during it) and a 10 ms interval covers asynchronous work.
 */
export class MemorySampler {
  readonly peak: MemoryPeak = { rss: 0, heapUsed: 0 }
  #timer: NodeJS.Timeout | undefined

  sample(): void {
    const m = process.memoryUsage()
    if (m.rss > this.peak.rss) this.peak.rss = m.rss
    if (m.heapUsed > this.peak.heapUsed) this.peak.heapUsed = m.heapUsed
  }

  start(): void {
    this.sample()
    this.#timer = setInterval(() => this.sample(), 10)
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.sample()
  }
}

/** How long one run took and how many values it emitted. */
export interface Timing {
  ms: number
  emitted: number
}

/**
 * Subscribes and waits for `complete`. The time runs from the subscribe call to the complete notification,
 * so it covers synchronous and asynchronous work. Rejects when the observable errors or has not completed
 * after `timeoutMs` (a case that never completes must fail the run, not hang it).
 */
export async function timeRun(observable: Observable<unknown>, timeoutMs = 300_000): Promise<Timing> {
  let emitted = 0
  let watchdog: NodeJS.Timeout | undefined
  const t0 = performance.now()
  const ms = await new Promise<number>((resolve, reject) => {
    watchdog = setTimeout(() => reject(new Error(`no completion after ${timeoutMs} ms (${emitted} emitted)`)), timeoutMs)
    observable.subscribe({
      next: () => {
        emitted++
      },
      error: reject,
      complete: () => resolve(performance.now() - t0),
    })
  }).finally(() => clearTimeout(watchdog))
  return { ms, emitted }
}

/**
 * Runs `args` in a fresh node process (same node flags as this one) and returns the JSON object it prints
 * as its last line of stdout. Each measurement gets its own process, as JMH forks: no case inherits another
 * case's garbage, heap size or JIT state, so interleaving cases cannot bias them.
 */
export function forkJson<T>(script: string, args: readonly string[]): T {
  const child = spawnSync(process.execPath, [...process.execArgv, script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  })
  if (child.error !== undefined) throw child.error
  if (child.status !== 0) throw new Error(`bench child ${args.join(' ')} exited with ${String(child.status ?? child.signal)}`)
  const lines = child.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1]) as T
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** `x` rounded to `digits` decimals, for tables and JSON alike. */
export function roundTo(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits
}

/** Bytes as MiB with one decimal, for tables and JSON alike. */
export function mib(bytes: number): number {
  return roundTo(bytes / 1048576, 1)
}

/**
 * Parses a suite's `--json`, `--help` (prints `help`, returns undefined) and integer options (`--name N`, at
 * least `minimum[flag]`, else 1) onto a copy of `defaults`; anything else is a RangeError naming it.
 *
 * @example
 * parseIntOptions('session', ['--rounds', '3'], { json: false, rounds: 20 }, { '--rounds': 'rounds' }, HELP) // { json: false, rounds: 3 }
 */
export function parseIntOptions<O extends { json: boolean }>(
  suite: string,
  args: readonly string[],
  defaults: O,
  flags: Readonly<Record<string, keyof O>>,
  help: string,
  minimum: Readonly<Record<string, number>> = {},
): O | undefined {
  const o = { ...defaults }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--json') o.json = true
    else if (a === '--help') {
      process.stdout.write(help)
      return undefined
    } else if (flags[a] !== undefined) {
      const n = Number(args[++i])
      if (!Number.isInteger(n) || n < (minimum[a] ?? 1)) throw new RangeError(`${suite} bench: ${a} needs a positive integer`)
      ;(o as Record<keyof O, unknown>)[flags[a]!] = n
    } else throw new RangeError(`${suite} bench: unknown option ${a} (see --help)`)
  }
  return o
}
