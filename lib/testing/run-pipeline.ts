import { VirtualTimeScheduler } from 'rxjs'
import { InMemoryKafka } from './in-memory/in-memory-kafka'
import type { LogEntry } from './in-memory/log-entry'
import type { RunEvent } from './in-memory/run-events'
import { MemberProcess, type PipelineUnderTest, type RunSourceOptions } from './member-process'
import type { RunState } from './pipeline-context'
import type { GroupStep, World } from './world'

/** Options of {@link runPipeline}. */
export interface RunPipelineOptions<K, V> {
  /** Passed to `fromKafka` (decoders, `maxInFlight`...); a run always reads from the beginning. */
  source?: RunSourceOptions<K, V>
  /** The virtual clock (a `TestScheduler` works too). Default: a new `VirtualTimeScheduler`. */
  scheduler?: VirtualTimeScheduler
  /**
   * A fast-check scheduler (`fc.scheduler()`) the pipeline's own promises go through (`s.schedule(p)`): one
   * of its tasks is released after every step, in the order fast-check picks (and shrinks).
   */
  promises?: { count(): number; waitOne(): Promise<void> }
  /** Most rounds of the final phase, where members fetch everything left and time runs. Default 2,000. */
  settleRounds?: number
}

/** What a run leaves for the checkers: the world and what happened in it. */
export interface RunLog {
  readonly world: World
  readonly events: readonly RunEvent[]
  /** The group's committed offset per partition at the end (undefined: never committed). */
  readonly committed: readonly (number | undefined)[]
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * Runs a pipeline on a world: each member runs `pipeline(fromKafka(inMemoryConsumer), context)` as its
 * own process; the script's steps fetch, pass virtual time, rebalance, kill and restart members and fail
 * commits; then every member fetches what is left while time passes until nothing moves, and the processes
 * are unsubscribed one at a time (each its final commit), those still running fetching again after each
 * (what a stopped member owned is theirs now). A process whose pipeline errors is restarted at the next step
 * (at most 10 times in a run), as a supervisor would. Returns the log the `check*` functions read.
 *
 * ```text
 * steps:   fetch m0 ─ tick 2 ─ rebalance [1,0] ─ crash m1 ─ fetch m0 ─ restart m1 ─ ...
 * settle:  (fetch every member ─ time to the next timer)* until quiet ─ (unsubscribe one ─ settle again)*
 * ```
 *
 * @example
 * const log = await runPipeline(world, (source, { work, scheduler, output }) =>
 *   source.pipe(groupByKeyConcat(recordKey, work, { skip: source.isStale }), orderedMerge(), output(),
 *     commitOffsets(source, { interval: 5, scheduler })))
 * checkPipeline(log)
 */
export async function runPipeline<K = Buffer | null, V = Buffer | null>(
  world: World,
  pipeline: PipelineUnderTest<K, V>,
  options: RunPipelineOptions<K, V> = {},
): Promise<RunLog> {
  const kafka = new InMemoryKafka({ [world.topic]: world.partitions })
  const scheduler = options.scheduler ?? new VirtualTimeScheduler()
  const byOffset = world.partitions.map((log) => new Map<number, LogEntry>(log.map((e) => [e.offset, e])))
  const state: RunState = {
    events: kafka.events,
    attempts: new Map(),
    entry: (topic, partition, offset) => (topic === world.topic ? byOffset[partition]?.get(offset) : undefined),
  }
  const members = Math.max(1, world.members)
  const processes: (MemberProcess | undefined)[] = []
  let restarts = 0
  const start = async (m: number): Promise<void> => {
    processes[m] = new MemberProcess(kafka, `m${m}`, world.topic, pipeline, options.source ?? {}, scheduler, state)
    await settle()
  }
  const tick = async (frames: number): Promise<void> => {
    for (let f = 0; f < frames; f++) await advanceTo(scheduler, scheduler.now() + 1)
    if (options.promises !== undefined && options.promises.count() > 0) await options.promises.waitOne()
    await settle()
    // A supervisor restarts a process whose pipeline errored (a killed one waits for its script's restart).
    for (let m = 0; m < members; m++) {
      const p = processes[m]
      if (p !== undefined && !p.alive && !killed.has(m) && !stopped.has(m) && restarts < 10) {
        restarts++
        await pump(p.closed())
        await start(m)
      }
    }
  }
  const killed = new Set<number>()
  const stopped = new Set<number>() // unsubscribed at the end: not restarted
  // What the driver waits for (a rebalance, a shutdown) may wait for a delayed commit: those arrive then.
  const pump = async (waited: Promise<unknown>): Promise<void> => {
    let done = false
    const over = waited.finally(() => (done = true))
    await settle()
    for (let round = 0; !done; round++) {
      if (round === 1_000) throw new Error('runPipeline: the run is stuck (a rebalance or a shutdown never ended)')
      kafka.group('world').deliverCommits()
      await settle()
    }
    await over
  }
  for (let m = 0; m < members; m++) await start(m)
  const group = kafka.group('world')
  for (const step of world.steps) {
    await pump(apply(step, { kafka, processes, members, killed, start }))
    await tick(step.kind === 'tick' ? step.frames : 1)
    // Commits delayed by a 'slow-commits' step arrive after the step that follows it.
    if (step.kind !== 'slow-commits') group.deliverCommits()
  }
  group.deliverCommits(true) // from here on the broker answers at once
  for (const m of [...killed]) {
    killed.delete(m)
    await start(m)
  }
  // Fetch what is left while time passes, until nothing moves.
  const settleAll = async (): Promise<void> => {
    let quiet = 0
    let stalled = 0 // rounds where nothing at all happened: a batch held for good (a leaked in-flight budget)
    for (let round = 0; round < (options.settleRounds ?? 2_000) && quiet < 3 && stalled < 50; round++) {
      const seen = kafka.events.length
      const live = processes.filter((p): p is MemberProcess => p?.alive === true)
      for (const p of live) void p.consumer.fetch(10)
      await settle()
      const next = scheduler.actions[0]?.delay
      const busy = live.some((p) => p.consumer.fetching || hasData(p)) || (options.promises?.count() ?? 0) > 0
      quiet = busy || next !== undefined ? 0 : quiet + 1
      stalled = next === undefined && kafka.events.length === seen ? stalled + 1 : 0
      // Nothing to fetch: jump to the next timer (a commit interval, a retry's backoff) instead of frame by frame.
      if (next !== undefined && !live.some(hasData)) await advanceTo(scheduler, Math.max(next, scheduler.now() + 1))
      await tick(1)
    }
  }
  await settleAll()
  // Stopping a member hands its partitions to those still running: they fetch them before they stop in turn
  // (else the last owner of a partition would stop before reading what it was handed).
  for (let m = 0; m < processes.length; m++) {
    const p = processes[m]
    if (p === undefined) continue
    stopped.add(m)
    await pump(p.stop())
    if (processes.some((q, n) => q?.alive === true && !stopped.has(n))) await settleAll()
  }
  return { world, events: kafka.events, committed: world.partitions.map((_, p) => group.committedOf(world.topic, p)) }
}

function hasData(p: MemberProcess): boolean {
  return Object.entries(p.consumer.assignment).some(([t, ps]) => ps.some((q) => p.consumer.hasData(t, q)))
}

/** Moves the virtual clock to `frame`, running every action due by then (and no later). */
async function advanceTo(scheduler: VirtualTimeScheduler, frame: number): Promise<void> {
  const delay = frame - scheduler.now()
  if (delay <= 0) return
  scheduler.schedule(() => undefined, delay) // so that the clock lands on `frame` even with nothing due
  scheduler.maxFrames = frame
  scheduler.flush()
  await settle()
}

interface Driver {
  kafka: InMemoryKafka
  processes: (MemberProcess | undefined)[]
  members: number
  killed: Set<number>
  start(m: number): Promise<void>
}

async function apply(step: GroupStep, d: Driver): Promise<void> {
  const m = 'member' in step ? step.member % d.members : 0
  const p = d.processes[m]
  switch (step.kind) {
    case 'fetch':
      if (p?.alive === true) void p.consumer.fetch(Math.max(1, step.max))
      return
    case 'tick':
      return
    case 'rebalance':
      return d.kafka.group('world').rebalance(step.owners)
    case 'fail-commits':
      return d.kafka.group('world').failNextCommits(step.count)
    case 'slow-commits':
      return d.kafka.group('world').delayNextCommits(step.count)
    case 'crash':
      if (p?.alive !== true) return
      d.killed.add(m)
      return p.kill()
    case 'restart':
      if (!d.killed.delete(m)) return
      return d.start(m)
  }
}

