// Integration test 3: a consumer running the full pipeline is SIGKILLed at random points and restarted, on a
// real broker, once per client (eachClient: kafkajs, platformatic with KIP-848 and with the classic protocol).
// The consumer is a child process (fixtures/crash-consumer.ts, on this process's node binary, told its
// client on its command line) that appends every pipeline event to a file with synchronous writes, so the
// parent sees everything that happened before each kill.
//
// The bound on re-processing, derived: after a kill, the next run starts from the group's committed offset
// C (checked: its first delivered offset of each partition is C), and C is at least the last commit the
// killed run saw acknowledged, A (checked). So a record is re-processed only if it was started with an
// offset >= A: either still in flight at the kill (at most maxInFlight, checked at every delivery), or
// finished and not covered by A. A covers every record that was finished, with everything before it in its
// partition, when A was computed (checked at every commit by checkCommitRequests); so the finished ones are
// those that finished after A was computed (about one commit interval plus two commit round trips before
// the kill), plus those that finished earlier behind a record of their partition still running then:
//
//   re-processed(kill) <= maxInFlight + finishedAfterLastAckedCommit + finishedBehindARunningRecord
//
// The test asserts the inclusion the bound rests on (nothing below A is ever started again), the parts it
// is made of, and prints the numbers of each kill. No assertion is on a duration.
import { expect } from 'chai'
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Admin } from 'kafkajs'
import { retry } from 'rxjs'
import type { KafkaConsumerLike } from '../../lib/client/consumer'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { ConsumerReuseError } from '../../lib/source/consumer-reuse-error'
import { recordKey, type RecordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { connectClients } from './fixtures/clients'
import type { CrashConsumerConfig } from './fixtures/crash-consumer'
import { ConsumerPerSession } from './fixtures/group-consumer-per-session'
import { checkInFlight, checkMember, missingOffsets } from './fixtures/group-checks'
import {
  asSortedPairs, committedOffsets, endOffsets, explained, produceKeyed, randomInt, sameOffsets, seededRandom, sleep,
  waitFor,
} from './fixtures/group-harness'
import { announcedSeed, cleanupAfterEach } from './fixtures/cleanup'
import { eachClient, type TestConsumerOptions } from './fixtures/each-client'
import type { PipelineEvent } from './fixtures/group-pipeline'

const PARTITIONS = 4
const KEYS = 40
const RECORDS = 4_000
const KILLS = 4
/** A run is killed once its work ended for a random number of records in this range. */
const KILL_AFTER: [number, number] = [20, 600]
const PIPELINE = { maxInFlight: 200, concurrency: 16, interval: 50, maxWorkMs: 10, slowWorkMs: 60, sessionTimeout: 3_000 }

interface Run {
  readonly id: number
  readonly killedAfter: number | undefined
  readonly events: PipelineEvent[]
  /** The group's committed offsets read from the broker once the process was gone. */
  readonly committedAfter: Map<number, number>
  /** Date.now() when it was killed (only printed). */
  readonly killedAt: number | undefined
}

eachClient('integration: crash (SIGKILL) and restart', (client) => {
  const cleanup = cleanupAfterEach()

  it('loses nothing, keeps key order, re-processes only what the kill left uncommitted, ends at the end offsets', async function () {
    // KIP-848: the broker keeps a killed member's partitions for its own session timeout (45 s), not ours.
    this.timeout(240_000 + (client.brokerSessionTimeout ?? 0) * KILLS)
    const seed = announcedSeed('crash test seed')
    const rnd = seededRandom(seed)

    const kafka = testKafka('crash-test')
    const { admin, producer } = await connectClients(kafka, cleanup)

    const topic = await createTopic('crash', PARTITIONS)
    const groupId = uniqueName('crash-group')
    await produceKeyed(producer, topic, RECORDS, { keys: KEYS, rnd, counters: new Map() })
    const ends = await endOffsets(admin, topic)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-rx-crash-'))
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }))

    const runs: Run[] = []
    // On a failed wait, what the logs of the runs so far already show.
    const explain = (current: { id: number; logFile: string }): string =>
      [...runs.map((r) => ({ name: `run ${r.id}`, events: r.events })), { name: `run ${current.id}`, events: readEvents(current.logFile) }]
        .flatMap(({ name, events }) => checkMember(name, events, PIPELINE.maxInFlight))
        .slice(0, 20)
        .join('\n')
    for (let id = 0; id <= KILLS; id++) {
      const logFile = path.join(dir, `run-${id}.jsonl`)
      const config: CrashConsumerConfig = { topic, groupId, runId: id, client: client.name, logFile, seed, ...PIPELINE }
      const child = startConsumer(config)
      cleanup.push(async () => void child.process.kill('SIGKILL'))
      let killedAfter: number | undefined
      let killedAt: number | undefined
      if (id < KILLS) {
        killedAfter = randomInt(rnd, ...KILL_AFTER)
        await explained(
          waitFor(() => child.exited || countEnded(logFile) >= killedAfter!, `run ${id} to process ${killedAfter} records`, 120_000),
          () => explain({ id, logFile }),
        )
        if (child.exited) throw new Error(`run ${id} exited by itself (${child.describeExit()}):\n${tailOf(logFile, child)}`)
        child.process.kill('SIGKILL')
        killedAt = Date.now()
        await child.exit
      } else {
        // The last run goes on until the group's commits reach the end offsets, then shuts down cleanly.
        await explained(
          waitFor(
            async () => {
              if (child.exited) throw new Error(`run ${id} exited by itself (${child.describeExit()}):\n${tailOf(logFile, child)}`)
              return sameOffsets(await committedOffsets(admin, groupId, topic), ends)
            },
            'the last run to commit the end offsets',
            120_000,
          ),
          () => explain({ id, logFile }),
        )
        child.process.kill('SIGTERM')
        await child.exit
        expect(child.describeExit(), `last run's exit:\n${tailOf(logFile, child)}`).to.equal('code 0')
      }
      runs.push({ id, killedAfter, killedAt, events: readEvents(logFile), committedAfter: await settledCommits(admin, groupId, topic) })
    }

    // Each run on its own: key order, in-flight budget, and every commit it asked for or sent.
    const violations = runs.flatMap((run) => checkMember(`run ${run.id}`, run.events, PIPELINE.maxInFlight))
    expect(violations, violations.slice(0, 20).join('\n')).to.deep.equal([])

    // No loss, across all runs: every produced offset was processed to its end at least once.
    expect(missingOffsets(ends, runs.map((r) => r.events))).to.deep.equal([])

    // The final committed offsets are the end offsets (after a clean shutdown of the last run).
    expect(asSortedPairs(runs[KILLS]!.committedAfter)).to.deep.equal(asSortedPairs(ends))

    const starts = runs.map((run) => startedOffsets(run.events))
    const totals = { started: 0, distinct: new Set<string>() }
    for (const run of runs) {
      for (const ev of run.events) if (ev.t === 's') (totals.started++, totals.distinct.add(`${ev.p}/${ev.o}`))
    }
    for (const run of runs.slice(0, KILLS)) {
      const next = runs[run.id + 1]!
      const acked = lastAckedCommit(run.events)
      const startedBefore = run.id === 0 ? new Map<number, number>() : runs[run.id - 1]!.committedAfter
      const floor = (p: number): number => acked.offsets.get(p) ?? Math.max(0, startedBefore.get(p) ?? 0)

      // The commit the run saw acknowledged is durable, and the next run resumes exactly where the group's
      // commit is: at its first delivered offset of each partition.
      for (const [p, o] of acked.offsets) {
        expect(run.committedAfter.get(p), `run ${run.id} partition ${p}: committed after the kill`).to.be.at.least(o)
      }
      for (const [p, first] of firstDelivered(next.events)) {
        expect(first, `run ${next.id} partition ${p}: first delivered offset`).to.equal(Math.max(0, run.committedAfter.get(p) ?? 0))
      }

      // Re-processed: started in this run and started again in a later one. Never below the acknowledged
      // commit, so bounded by what was in flight or finished after (or behind) that commit.
      const reprocessed = [...starts[run.id]!].filter((id) => starts.slice(run.id + 1).some((later) => later.has(id)))
      const belowCommit = reprocessed.filter((id) => offsetOf(id) < floor(partitionOf(id)))
      expect(belowCommit, `run ${run.id}: re-processed below the acknowledged commit`).to.deep.equal([])

      const inFlight = checkInFlight(`run ${run.id}`, run.events, PIPELINE.maxInFlight).atEnd
      const sentAt = run.events[acked.sentAt]
      const sentBeforeKill = sentAt?.t === 'w' && run.killedAt !== undefined ? `${run.killedAt - sentAt.ms} ms` : 'n/a'
      let finishedAfter = 0
      let finishedBehind = 0
      run.events.forEach((ev, i) => {
        if (ev.t !== 'e' || ev.o < floor(ev.p)) return
        if (i > acked.sentAt) finishedAfter++
        else finishedBehind++
      })
      expect(inFlight).to.be.at.most(PIPELINE.maxInFlight)
      expect(reprocessed.length).to.be.at.most(PIPELINE.maxInFlight + finishedAfter + finishedBehind)
      console.log(
        `      run ${run.id}: killed after ${run.killedAfter} ended; re-processed ${reprocessed.length} <= ` +
        `in flight ${inFlight} (max ${PIPELINE.maxInFlight}) + finished after the last acked commit ${finishedAfter} ` +
        `(sent ${sentBeforeKill} before the kill; interval ${PIPELINE.interval} ms) + finished behind a running record ` +
        `${finishedBehind}; acked ${fmt(acked.offsets)}, committed ${fmt(run.committedAfter)}`,
      )
    }
    console.log(`      ${totals.started} starts for ${totals.distinct.size} records over ${runs.length} runs`)
  })

  // The in-process restart: the pipeline fails (here, the work of one record throws) and retry() subscribes
  // to it again, so fromKafka opens a new session, with a new tracker, on the same consumer.
  //
  // Here the consumer is a fresh consumer per session (see the next test for why): commitOffsets must
  // finish records in, and commit from, the tracker of the new subscription. Finishing them in the first
  // one's releases no budget and commits nothing: the new session stalls once maxInFlight records are out.
  it('after an error, retry() resubscribes and the new subscription commits up to the end offsets', async function () {
    this.timeout(120_000)
    await retryReachesTheEnd((groupId) => new ConsumerPerSession(() => client.consumer(groupId, RETRY_CONSUMER)))
  })

  // The same with one plain kafkajs consumer object: a resubscription waits for the previous session to
  // disconnect and connects the same consumer again, but a kafkajs 2.2.4 consumer cannot be used again once
  // disconnected. The retry must then fail with an error that names the fix (a consumer factory), not with
  // kafkajs's bare "write after end".
  it('after an error, retry() over one plain consumer fails with an error naming the factory fix', async function () {
    this.timeout(120_000)
    await retryReachesTheEnd((groupId) => client.consumer(groupId, RETRY_CONSUMER), 'reuse error')
  })

  async function retryReachesTheEnd(
    makeConsumer: (groupId: string) => KafkaConsumerLike,
    expecting: 'the end' | 'reuse error' = 'the end',
  ): Promise<void> {
    const kafka = testKafka('crash-retry')
    const { admin, producer } = await connectClients(kafka, cleanup)
    const topic = await createTopic('crash-retry', 2)
    const groupId = uniqueName('crash-retry-group')
    await produceKeyed(producer, topic, 600, { keys: 20, rnd: seededRandom(1), counters: new Map() })
    const ends = await endOffsets(admin, topic)

    const source = fromKafka(makeConsumer(groupId), { topics: [topic], fromBeginning: true, maxInFlight: 50 })
    let failures = 0
    const errors: unknown[] = []
    const subscription = source
      .pipe(
        groupByKeyConcat<SourceRecord<Buffer | null, Buffer | null>, void, RecordKey>(
          recordKey,
          async (r) => {
            if (failures === 0 && r.partition === 0 && Number(r.offset) >= 100) {
              failures++
              throw new Error(`work of ${r.partition}@${r.offset} failed`)
            }
            await sleep(1)
          },
          { concurrency: 8, skip: (r) => source.isStale(r) },
        ),
        orderedMerge(),
        commitOffsets(source, { interval: 100 }),
        retry({ count: 1 }),
      )
      .subscribe({ error: (error) => errors.push(error) })
    cleanup.push(async () => {
      subscription.unsubscribe()
      await source.closed()
    })
    let committed = new Map<number, number>()
    await explained(
      waitFor(
        async () => errors.length > 0 || sameOffsets((committed = await committedOffsets(admin, groupId, topic)), ends),
        'commits to reach the end offsets',
        60_000,
      ),
      () => `the source's tracker has ${source.tracker.inFlight} records in flight (maxInFlight 50); ` +
        `committed ${fmt(committed)}, end offsets ${fmt(ends)}`,
    )
    if (expecting === 'reuse error') {
      expect(errors, 'errors after the retry').to.have.length(1)
      expect(errors[0]).to.be.instanceOf(ConsumerReuseError)
      expect(String(errors[0])).to.match(/pass a factory/)
      return
    }
    expect(errors.map(String), 'errors after the retry').to.deep.equal([])
    expect(failures).to.equal(1)
    expect(asSortedPairs(committed)).to.deep.equal(asSortedPairs(ends))
  }
}, { classic: true })

const RETRY_CONSUMER: TestConsumerOptions = { sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 200 }

interface Child {
  readonly process: ChildProcess
  readonly exit: Promise<void>
  readonly exited: boolean
  stderr: string
  describeExit(): string
}

function startConsumer(config: CrashConsumerConfig): Child {
  const program = path.join(__dirname, 'fixtures', 'crash-consumer.js')
  const child = spawn(process.execPath, ['--enable-source-maps', program, JSON.stringify(config)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const state = { exited: false, code: null as number | null, signal: null as NodeJS.Signals | null, stderr: '' }
  child.stderr!.on('data', (chunk: Buffer) => {
    state.stderr = (state.stderr + chunk.toString('utf8')).slice(-8_000)
  })
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      Object.assign(state, { exited: true, code, signal })
      resolve()
    })
  })
  return {
    process: child,
    exit,
    get exited() {
      return state.exited
    },
    get stderr() {
      return state.stderr
    },
    describeExit: () => (state.signal !== null ? `signal ${state.signal}` : `code ${state.code}`),
  }
}

/**
 * The group's committed offsets once they stopped changing: a commit the killed process sent just before it
 * died may still be applied by the broker a moment after the process is gone.
 */
async function settledCommits(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  let last = await committedOffsets(admin, groupId, topic)
  for (;;) {
    await sleep(250)
    const now = await committedOffsets(admin, groupId, topic)
    if (sameOffsets(now, last)) return now
    last = now
  }
}

/** Counts the 'e' events in a run's log so far (the parent's trigger for the kill). */
function countEnded(logFile: string): number {
  if (!fs.existsSync(logFile)) return 0
  const text = fs.readFileSync(logFile, 'utf8')
  let n = 0
  for (let i = text.indexOf('{"t":"e"'); i !== -1; i = text.indexOf('{"t":"e"', i + 1)) n++
  return n
}

function readEvents(logFile: string): PipelineEvent[] {
  if (!fs.existsSync(logFile)) return []
  // A SIGKILL may cut the last line short: every complete line is an event.
  const lines = fs.readFileSync(logFile, 'utf8').split('\n')
  const complete = lines.slice(0, -1)
  return complete.map((line) => JSON.parse(line) as PipelineEvent)
}

function tailOf(logFile: string, child: Child): string {
  const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trimEnd().split('\n') : []
  return `stderr: ${child.stderr}\nlog tail:\n${lines.slice(-15).join('\n')}`
}

/** The last commit a run saw resolved on the wire: its offsets per partition, and where it was sent. */
function lastAckedCommit(events: readonly PipelineEvent[]): { offsets: Map<number, number>; sentAt: number } {
  const offsets = new Map<number, number>()
  let sentAt = -1
  let lastSent = -1
  events.forEach((ev, i) => {
    if (ev.t === 'w') lastSent = i
    if (ev.t !== 'wa') return
    // Commits are sent one at a time, so the one acknowledged here is the last one sent.
    sentAt = lastSent
    for (const [p, o] of ev.c) offsets.set(p, Math.max(offsets.get(p) ?? -1, o))
  })
  return { offsets, sentAt }
}

function startedOffsets(events: readonly PipelineEvent[]): Set<string> {
  const ids = new Set<string>()
  for (const ev of events) if (ev.t === 's') ids.add(`${ev.p}/${ev.o}`)
  return ids
}

function firstDelivered(events: readonly PipelineEvent[]): Map<number, number> {
  const first = new Map<number, number>()
  for (const ev of events) if (ev.t === 'd' && !first.has(ev.p)) first.set(ev.p, ev.o)
  return first
}

const partitionOf = (id: string): number => Number(id.split('/')[0])
const offsetOf = (id: string): number => Number(id.split('/')[1])

function fmt(offsets: ReadonlyMap<number, number>): string {
  return asSortedPairs(offsets).map(([p, o]) => `${p}:${o}`).join(' ')
}
