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

/** What one run of one case measured. */
export interface RunResult {
  ms: number
  emitted: number
  peak: MemoryPeak
  /** heapUsed before the run and after it, both right after a forced GC: a leak shows as after >> before. */
  heapBefore: number
  heapAfterGc: number
  rssAfterGc: number
}

/**
 * Runs one case to completion: GC, then subscribe to `build(sampler)` and wait for `complete`. The time
 * runs from the subscribe call to the complete notification, so it covers synchronous and asynchronous work.
 * Rejects when the case errors or has not completed after `timeoutMs`.
 */
export async function runOnce(build: (sampler: MemorySampler) => Observable<unknown>, timeoutMs = 300_000): Promise<RunResult> {
  collectGarbage()
  const heapBefore = process.memoryUsage().heapUsed
  const sampler = new MemorySampler()
  const observable = build(sampler)
  sampler.start()
  let emitted = 0
  const t0 = performance.now()
  let watchdog: NodeJS.Timeout | undefined
  const ms = await new Promise<number>((resolve, reject) => {
    // A case that never completes must fail the run, not hang it.
    watchdog = setTimeout(() => reject(new Error(`no completion after ${timeoutMs} ms (${emitted} emitted)`)), timeoutMs)
    observable.subscribe({
      next: () => {
        emitted++
      },
      error: reject,
      complete: () => resolve(performance.now() - t0),
    })
  }).finally(() => {
    clearTimeout(watchdog)
    sampler.stop()
  })
  collectGarbage()
  const after = process.memoryUsage()
  return { ms, emitted, peak: { ...sampler.peak }, heapBefore, heapAfterGc: after.heapUsed, rssAfterGc: after.rss }
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
