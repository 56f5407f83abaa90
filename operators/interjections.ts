import { asyncScheduler, from, Observable, type ObservableInput, type SchedulerLike, type Subscription } from 'rxjs'

/** A partition this member owns, under the epoch of that ownership (a new epoch at each assignment). */
export interface AssignedPartition {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
}

/** A change of ownership: `fromKafka`'s `assignments` emits these (any stream of them will do). */
export interface PartitionEvent extends AssignedPartition {
  readonly type: 'assigned' | 'revoked'
}

/** Options of {@link interjections}. */
export interface InterjectionsOptions {
  /** Ms between the end of one run of the task for a partition and the start of the next (> 0). */
  every: number
  /** Up to this many ms are added to each wait, uniformly in [0, jitter), so partitions spread out. Default 0. */
  jitter?: number
  /** Where the waits are timed. Default `asyncScheduler` (a `TestScheduler` in marble tests). */
  scheduler?: SchedulerLike
  /** A uniform random number in [0, 1) for the jitter. Default `Math.random` (a seeded one in tests). */
  random?: () => number
}

interface Runner {
  readonly owned: AssignedPartition
  timer: Subscription | undefined
  task: Subscription | undefined
}

/**
 * Periodic tasks per owned partition, GKES's interjectors: while a partition is assigned, `task(partition)`
 * runs every `every` ms (plus a jitter in [0, `jitter`)), e.g. to retry writes that failed earlier and were
 * recorded somewhere. The tasks' output is merged into one stream, which can be merged into the pipeline.
 *
 * - **Start and stop with ownership.** An `assigned` event starts the partition's timer (first run after one
 *   wait); `revoked` stops it and unsubscribes a task still running, as does a newer epoch assigning the
 *   partition again (which then starts over). Events of an older epoch than the latest seen for that
 *   partition, and an `assigned` repeating the current epoch (a replay), are ignored.
 * - **One run at a time per partition.** The next wait starts when a run ends, so a slow task delays its
 *   partition's next run instead of overlapping it (no tick is skipped or queued up). Partitions run
 *   independently of each other.
 * - **End.** When `partitionEvents` completes, no run starts any more; the output completes once the runs
 *   under way have ended. An error of `partitionEvents`, or a task that throws or errors, errors the output
 *   (and stops every task): catch inside the task what should not stop the others. Unsubscribing stops all.
 *
 * ```text
 * every 3, no jitter; a = assigned p0, r = revoked p0; the task takes 2 frames, then emits x
 * events: a--------r
 * task:   ---^-x  ^!          run 1 at 3-5; the next wait starts at its end: run 2 at 8, cancelled at 9
 * output: -----x-----
 * ```
 *
 * @example
 * ```ts
 * const source = fromKafka(consumer, { topics: ['orders'] })
 * merge(
 *   source.pipe(groupByKeyConcat(recordKey, write), orderedMerge(), commitOffsets(source)),
 *   // Every minute (+ up to 5 s), per owned partition: retry the writes recorded as failed for it.
 *   interjections(source.assignments, (p) => retryFailedWrites(p.topic, p.partition), { every: 60_000, jitter: 5_000 }),
 * ).subscribe()
 * ```
 *
 * @param partitionEvents Ownership changes, e.g. `fromKafka(...).assignments`.
 * @param task What to run for one partition; its values are emitted.
 * @param options Timing, see {@link InterjectionsOptions}.
 * @returns The merged output of every run.
 * @throws {TypeError | RangeError} At call time, for a task that is not a function or an option out of range.
 */
export function interjections<R>(
  partitionEvents: Observable<PartitionEvent>,
  task: (partition: AssignedPartition) => ObservableInput<R>,
  options: InterjectionsOptions,
): Observable<R> {
  if (typeof task !== 'function') throw new TypeError('interjections: task must be a function')
  if (options === null || typeof options !== 'object') throw new TypeError('interjections: options { every } are required')
  const { every, jitter = 0, scheduler = asyncScheduler, random = Math.random } = options
  if (typeof every !== 'number' || !(every > 0 && every < 2 ** 31)) throw new RangeError(`interjections: every must be a number of ms > 0, got ${String(every)}`)
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 2 ** 31)) throw new RangeError(`interjections: jitter must be a number of ms >= 0, got ${String(jitter)}`)
  if (typeof scheduler?.schedule !== 'function') throw new TypeError('interjections: scheduler must be an RxJS scheduler')
  if (typeof random !== 'function') throw new TypeError('interjections: random must be a function')

  return new Observable<R>((subscriber) => {
    const runners = new Map<string, Runner>()
    // The newest epoch seen per partition (one number per partition ever owned), so a late event is ignored.
    const latest = new Map<string, number>()
    let ended = false

    // A throw of task, random or the scheduler errors the output rather than escaping into a timer.
    const guarded =
      <A extends unknown[]>(f: (...args: A) => void) =>
      (...args: A): void => {
        try {
          f(...args)
        } catch (error) {
          subscriber.error(error)
        }
      }

    const wait = (): number => {
      if (jitter === 0) return every
      const r = random()
      if (!(r >= 0 && r < 1)) throw new RangeError(`interjections: random() must return a number in [0, 1), got ${String(r)}`)
      return every + jitter * r
    }
    const schedule = guarded((runner: Runner): void => {
      runner.timer = scheduler.schedule(() => run(runner), wait())
    })
    const stop = (key: string, runner: Runner): void => {
      runners.delete(key)
      runner.timer?.unsubscribe()
      runner.task?.unsubscribe()
    }
    const completeWhenIdle = (): void => {
      if (ended && runners.size === 0) subscriber.complete()
    }
    const run = guarded((runner: Runner): void => {
      runner.timer = undefined
      let finished = false
      const subscription = from(task(runner.owned)).subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          finished = true
          runner.task = undefined
          if (!ended) schedule(runner)
          else if (runners.get(keyOf(runner.owned)) === runner) {
            runners.delete(keyOf(runner.owned))
            completeWhenIdle()
          }
        },
      })
      if (!finished) runner.task = subscription
    })
    const onEvent = guarded((event: PartitionEvent): void => {
      if (event === null || typeof event !== 'object' || (event.type !== 'assigned' && event.type !== 'revoked')) {
        throw new TypeError(`interjections: not a partition event: ${JSON.stringify(event)}`)
      }
      const key = keyOf(event)
      const newest = latest.get(key)
      if (newest !== undefined && event.epoch < newest) return
      latest.set(key, event.epoch)
      const current = runners.get(key)
      if (event.type === 'assigned') {
        if (current?.owned.epoch === event.epoch) return
        if (current !== undefined) stop(key, current)
        const runner: Runner = { owned: { topic: event.topic, partition: event.partition, epoch: event.epoch }, timer: undefined, task: undefined }
        runners.set(key, runner)
        schedule(runner)
      } else if (current !== undefined) {
        stop(key, current)
      }
    })

    const events = partitionEvents.subscribe({
      next: onEvent,
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        ended = true
        for (const [key, runner] of runners) {
          runner.timer?.unsubscribe()
          if (runner.task === undefined) runners.delete(key)
        }
        completeWhenIdle()
      },
    })
    return () => {
      events.unsubscribe()
      for (const [key, runner] of runners) stop(key, runner)
    }
  })
}

function keyOf(p: AssignedPartition): string {
  return `${p.topic}\u0000${p.partition}`
}
