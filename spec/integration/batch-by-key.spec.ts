// batchByKey on a real broker: fromKafka -> batchByKey (writing to an in-process fake of a batch API with
// small random delays) -> orderedMerge -> commitOffsets. The sink must receive every record exactly once,
// each key's records in offset order, never one key in two concurrent batches; every commit sent must cover
// finished records only, and the group must end committed at the end offsets.
// Seen to fail with bench/operators/batcher.ts's naive bufferTime + mergeMap batcher in batchByKey's place: the sink
// got keys in two batches at once.
import { expect } from 'chai'
import { tap } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { seededRandom, type Random } from '../../lib/testing/seeded-random'
import { batchByKey } from '../../operators/batch-by-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { orderedMerge } from '../../operators/ordered-merge'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { announcedSeed } from './fixtures/cleanup'
import { CommitAudit, committedOffsetsOf, endOffsetsOf, pairs, produceKeyedSequence, sequenceOf, sleep, until } from './fixtures/source-harness'

const RECORDS = 6_000
const PARTITIONS = 6
const KEYS = 60

type Rec = SourceRecord<Buffer | null, Buffer | null>

/**
 * A batch API in memory: `write(rows)` takes a few ms (random), then stores the rows. It records what each
 * key received, and every batch that started while one of its keys was in another batch under way.
 */
class FakeBatchApi {
  readonly received = new Map<string, number[]>()
  readonly violations: string[] = []
  batches = 0
  /** Most batches under way at once: the test means something only when batches did overlap. */
  maxRunning = 0
  #running = 0
  readonly #busy = new Set<string>()

  constructor(private readonly rnd: Random) {}

  async write(rows: readonly { key: string; n: number }[]): Promise<number[]> {
    this.batches++
    this.maxRunning = Math.max(this.maxRunning, ++this.#running)
    const keys = new Set(rows.map((r) => r.key))
    for (const key of keys) {
      if (this.#busy.has(key) && this.violations.length < 20) this.violations.push(`${key} in two batches at once`)
      this.#busy.add(key)
    }
    await sleep(Math.floor(this.rnd() * 5))
    for (const { key, n } of rows) {
      let got = this.received.get(key)
      if (got === undefined) this.received.set(key, (got = []))
      got.push(n)
    }
    for (const key of keys) this.#busy.delete(key)
    this.#running--
    return rows.map((r) => r.n)
  }
}

describe('integration: batchByKey', function () {
  const clients = suiteClients('batch')

  it(`writes ${RECORDS} records of ${KEYS} keys to a batch sink once each, in key order, and commits the end offsets`, async function () {
    this.timeout(180_000)
    const seed = announcedSeed('batch test seed')
    const topic = await createTopic('batch', PARTITIONS)
    const perKey = await produceKeyedSequence(clients.producer, topic, { count: RECORDS, keys: KEYS })
    const ends = await endOffsetsOf(clients.admin, topic)

    const groupId = uniqueName('batch-group')
    const audit = new CommitAudit()
    const api = new FakeBatchApi(seededRandom(seed))
    const consumer = testKafka('batch').consumer({ groupId, maxWaitTimeInMs: 250 })
    const source = fromKafka(audit.wrap(consumer), { topics: [topic], fromBeginning: true, maxInFlight: 500 })
    const row = (r: Rec): { key: string; n: number } => sequenceOf(r.value as Buffer)
    let processed = 0
    let failure: unknown

    const subscription = source
      .pipe(
        batchByKey(
          (r: Rec) => row(r).key,
          async (batch: readonly Rec[]) => {
            const results = await api.write(batch.map(row))
            for (const r of batch) audit.finished(r.partition, Number(r.offset))
            return results
          },
          { maxBatchSize: 20, maxConcurrentBatches: 4, accumulationDelay: 5 },
        ),
        orderedMerge(),
        tap(() => processed++),
        commitOffsets(source, { interval: 200 }),
      )
      .subscribe({ error: (e) => (failure = e) })

    try {
      const done = async (): Promise<boolean> =>
        failure !== undefined || (processed >= RECORDS && sameAsEnds(await committedOffsetsOf(clients.admin, groupId, topic), ends))
      await until(done, 'every record written and committed')
    } finally {
      subscription.unsubscribe()
      await source.closed()
    }
    expect(failure).to.equal(undefined)
    expect(api.violations).to.deep.equal([])
    expect(audit.violations).to.deep.equal([])
    // Exactly once and in order: each key got 0, 1, 2, ... up to its count.
    for (const [key, count] of perKey) expect(api.received.get(key), key).to.deep.equal([...Array(count).keys()])
    expect(api.received.size).to.equal(perKey.size)
    expect(api.maxRunning, 'batches ran concurrently').to.be.greaterThan(1)
    expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal(pairs(ends))
    console.log(`      ${api.batches} batches (up to ${api.maxRunning} at once), ${audit.sent.length} commits`)
  })
})

function sameAsEnds(committed: ReadonlyMap<number, number>, ends: ReadonlyMap<number, number>): boolean {
  return [...ends].every(([p, o]) => committed.get(p) === o)
}
