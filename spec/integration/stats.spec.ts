// Integration: live stats against the truth of a run on a real broker. 1,500 keyed records in 3 partitions go
// through fromKafka -> groupByKeyConcat(withRetry(work)) -> orderedMerge -> publish (with a dead-letter
// topic) -> commitOffsets, with one PipelineMetrics fed by all three operators, pipelineStats every 100 ms
// and stuckRecords after 300 ms. One record (k3#5) fails every try: 2 retries, then a dead letter. One
// record (k7#2) is held until it was reported stuck and a snapshot showed fetching paused (its key's later
// records fill the in-flight budget of 100 behind it). Checked: the stuck report names its key, partition
// and offset; a snapshot showed every partition paused with at most 100 in flight; and once everything is
// committed, the last snapshot says: delivered == produced per partition, committed offset == high
// watermark == end offset, lag 0, nothing in flight or stuck, retries 2, exhausted 1, one dead letter, the
// rest published, no key active.
import { expect } from 'chai'
import { defer, delay, from, of, throwError, type Observable } from 'rxjs'
import { stringDecoder } from '../../lib/record/decoders'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { PipelineMetrics } from '../../operators/pipeline-metrics'
import { pipelineStats } from '../../lib/stats/pipeline-stats'
import type { PipelineStats, StuckRecord } from '../../lib/stats/sampler'
import { publish } from '../../lib/publish/publish'
import { recordKey } from '../../lib/record/record-key'
import { stuckRecords } from '../../lib/stats/stuck-records'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { forward, type OutputMessage, type Result } from '../../operators/result'
import { withRetry } from '../../operators/with-retry'
import { createTopic, testKafka } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { keyedTopic } from './fixtures/keyed-topic'
import { endOffsetsOf, pairs, until } from './fixtures/source-harness'

const RECORDS = 1_500
const MAX_IN_FLIGHT = 100

describe('integration: live stats', function () {
  const clients = suiteClients('stats')

  it('reports figures equal to the truth of the run, a stuck record with its key, and paused fetching', async function () {
    this.timeout(180_000)
    const { topic: input, groupId } = await keyedTopic(clients.producer, 'stats-in', 3, { count: RECORDS, keys: 12 })
    const output = await createTopic('stats-out', 3)
    const dlt = await createTopic('stats-dlt', 1)
    const ends = await endOffsetsOf(clients.admin, input)

    const metrics = new PipelineMetrics()
    const source = fromKafka(testKafka('stats').consumer({ groupId, maxWaitTimeInMs: 100 }), {
      topics: [input], fromBeginning: true, maxInFlight: MAX_IN_FLIGHT, keyDecoder: stringDecoder, valueDecoder: stringDecoder,
    })
    const snapshots: PipelineStats[] = []
    const stuck: StuckRecord[] = []
    let slow: { partition: number; offset: string } | undefined
    // k7#2 is held until it was reported stuck (by stuckRecords and in a snapshot: two timers of their own) and
    // fetching was seen paused (or 60 s, then the checks fail).
    const released = until(
      () => stuck.some((r) => r.key === 'k7') && snapshots.some((s) => s.stuck.some((r) => r.key === 'k7')) &&
        snapshots.some((s) => s.partitions.length > 0 && s.partitions.every((p) => p.paused)),
      'k7#2 reported stuck and fetching paused', 60_000,
    ).catch(() => undefined)

    type In = SourceRecord<string | null, string | null>
    const work = (r: In): Observable<Result<OutputMessage>> => defer(() => {
      const value = r.value ?? ''
      if (value === 'k3#5') return throwError(() => new Error('poison'))
      if (value === 'k7#2') {
        slow = { partition: r.partition, offset: r.offset }
        return from(released.then(() => forward<OutputMessage>({ key: r.key as string, value })))
      }
      return of(forward<OutputMessage>({ key: r.key as string, value })).pipe(delay(Math.floor(Math.random() * 2)))
    })
    let failure: unknown
    const pipeline = source.pipe(
      groupByKeyConcat(recordKey, withRetry(work, { maxAttempts: 3, backoff: () => 20, metrics }), { concurrency: 32, metrics }),
      orderedMerge(),
      publish(clients.producer, { topic: output, deadLetterTopic: dlt, metrics }),
      commitOffsets(source, { interval: 100 }),
    ).subscribe({ error: (e) => (failure = e) })
    const watch = [
      pipelineStats(source, { interval: 100, metrics, stuckAfter: 300 }).subscribe((s) => snapshots.push(s)),
      stuckRecords(source, { stuckAfter: 300, interval: 100 }).subscribe((r) => stuck.push(r)),
    ]
    const settled = (s: PipelineStats | undefined): boolean =>
      s !== undefined && s.partitions.length === 3 && s.partitions.every((p) => p.committed === String(ends.get(p.partition)))
    try {
      await until(() => failure !== undefined || settled(snapshots.at(-1)), 'a snapshot with every partition committed to its end')
    } finally {
      pipeline.unsubscribe()
      for (const w of watch) w.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)

    // During the run: the held record was reported stuck, by key, partition and offset. (Its key's later
    // records waited behind it long enough to be reported in turn, each once, as the oldest of the partition.)
    expect(slow).to.not.equal(undefined)
    const reports = stuck.filter((r) => r.key === 'k7')
    expect(reports.length).to.be.greaterThan(0)
    expect({ partition: reports[0]!.partition, offset: reports[0]!.offset }).to.deep.equal(slow)
    expect(reports[0]!.ageMs).to.be.above(300)
    expect(new Set(reports.map((r) => r.offset)).size).to.equal(reports.length)
    expect(reports.every((r) => r.partition === slow!.partition)).to.equal(true)
    expect(snapshots.some((s) => s.stuck.some((r) => r.key === 'k7' && r.offset === slow!.offset))).to.equal(true)
    // The held key was listed among the hottest while it ran (issue 20, part 4).
    expect(snapshots.some((s) => s.hotKeys?.some((h) => h.key === 'k7') === true)).to.equal(true)
    // Its key's later records filled the budget behind it: fetching paused, never more than the budget in flight.
    const paused = snapshots.filter((s) => s.partitions.length > 0 && s.partitions.every((p) => p.paused))
    expect(paused).to.not.have.length(0)
    for (const s of snapshots) expect(s.inFlight).to.be.at.most(MAX_IN_FLIGHT)

    // After the run: the last snapshot against the truth.
    const last = snapshots.at(-1)!
    const byPartition = (f: (p: PipelineStats['partitions'][number]) => unknown): [number, unknown][] =>
      last.partitions.map((p) => [p.partition, f(p)] as [number, unknown]).sort(([a], [b]) => a - b)
    const truth = pairs(ends)
    expect(byPartition((p) => p.delivered)).to.deep.equal(truth)
    expect(byPartition((p) => p.finished)).to.deep.equal(truth)
    expect(byPartition((p) => p.committed)).to.deep.equal(truth.map(([p, e]) => [p, String(e)]))
    expect(byPartition((p) => p.highWatermark)).to.deep.equal(truth.map(([p, e]) => [p, String(e)]))
    expect(byPartition((p) => p.lag)).to.deep.equal(truth.map(([p]) => [p, 0]))
    expect(byPartition((p) => [p.inFlight, p.oldestUnfinishedOffset, p.paused])).to.deep.equal(truth.map(([p]) => [p, [0, undefined, false]]))
    expect(last.inFlight).to.equal(0)
    expect(last.stuck).to.deep.equal([])
    expect(last.hotKeys).to.deep.equal([])
    expect({ retries: last.retries, exhausted: last.exhausted, deadLetters: last.deadLetters, published: last.published })
      .to.deep.equal({ retries: 2, exhausted: 1, deadLetters: 1, published: RECORDS - 1 })
    expect({ activeKeys: last.activeKeys, running: last.running, queued: last.queued }).to.deep.equal({ activeKeys: 0, running: 0, queued: 0 })
    // The rates add up: every snapshot's delivered/s times its window, summed, is every record delivered.
    const delivered = snapshots.reduce((n, s) => n + (s.deliveredPerSecond * s.intervalMs) / 1000, 0)
    expect(Math.round(delivered)).to.equal(RECORDS)
  })
})
