import { performance } from 'node:perf_hooks'
import { Observable } from 'rxjs'

/** Forces a full GC when node runs with --expose-gc (the dispatcher re-execs node with it); else a no-op. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    gc()
    gc() // a second pass collects what the first one's finalizers released
  }
}

/** Peak memory seen while a case ran, in bytes. */
export interface MemoryPeak {
  rss: number
  heapUsed: number
}

/**
 * Samples memory from two places: from the source every `every` items (a synchronous run blocks the event
 * loop, so a timer would never fire during it) and from a 10 ms interval (for the asynchronous tail).
 */
export class MemorySampler {
  readonly peak: MemoryPeak = { rss: 0, heapUsed: 0 }
  private timer: NodeJS.Timeout | undefined

  sample(): void {
    const m = process.memoryUsage()
    if (m.rss > this.peak.rss) this.peak.rss = m.rss
    if (m.heapUsed > this.peak.heapUsed) this.peak.heapUsed = m.heapUsed
  }

  start(): void {
    this.sample()
    this.timer = setInterval(() => this.sample(), 10)
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.sample()
  }
}

/** How long one run took and how many values it emitted. */
export interface Timing {
  ms: number
  emitted: number
}

/** What a memory run measured, in bytes. */
export interface Memory extends Timing {
  peak: MemoryPeak
  /** heapUsed before the run and after it, both right after a forced GC: a leak shows as after >> before. */
  heapBefore: number
  heapAfterGc: number
  rssAfterGc: number
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
 * A run for memory figures: forced GC before (so the peak is this case's, not the garbage of the one
 * before) and after (what the case left behind), peak sampled in between. Kept apart from the timed runs
 * because a forced GC deoptimizes code that embedded objects of the previous run (V8 "weak objects"),
 * which would charge a re-optimization to every timed run and most to the short ones.
 */
export async function memoryRun(build: (sampler: MemorySampler) => Observable<unknown>, timeoutMs?: number): Promise<Memory> {
  collectGarbage()
  const heapBefore = process.memoryUsage().heapUsed
  const sampler = new MemorySampler()
  const observable = build(sampler)
  sampler.start()
  const timing = await timeRun(observable, timeoutMs).finally(() => sampler.stop())
  collectGarbage()
  const after = process.memoryUsage()
  return { ...timing, peak: { ...sampler.peak }, heapBefore, heapAfterGc: after.heapUsed, rssAfterGc: after.rss }
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Bytes as MiB with one decimal, for tables and JSON alike. */
export function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10
}
