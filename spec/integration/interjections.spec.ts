// Interjections on a real broker, across real rebalances: one member owns all 4 partitions of a topic and
// its periodic tasks run for all 4; a second member of the group joins, takes some partitions, and the
// first member's tasks for those stop while the second's start; the second leaves and the first gets them
// back. Asserted on who ran for which partition under which ownership (epoch), never on durations.
import { expect } from 'chai'
import { defer, finalize, merge, timer, type Subscription } from 'rxjs'
import { fromKafka, type KafkaSource } from '../../lib/source/from-kafka'
import { commitOffsets } from '../../operators/commit-offsets'
import { interjections, type AssignedPartition, type PartitionEvent } from '../../operators/interjections'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { explained, waitFor } from './fixtures/group-harness'

const PARTITIONS = [0, 1, 2, 3]

/** One member: its source, its view of ownership (from `assignments`), and every run of its task. */
class Member {
  /** Partition -> epoch owned now, as the events said. */
  readonly owned = new Map<number, number>()
  readonly log: string[] = []
  readonly runs: { partition: number; epoch: number }[] = []
  readonly violations: string[] = []
  readonly #running = new Map<number, number>()
  readonly #source: KafkaSource<Buffer | null, Buffer | null>
  readonly #subscriptions: Subscription[] = []

  constructor(readonly name: string, topic: string, groupId: string) {
    const consumer = testKafka(uniqueName(name)).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
    this.#source = fromKafka(consumer, { topics: [topic] })
  }

  start(): void {
    const source = this.#source
    // Subscribed before the pipeline: `owned` already shows an event when the interjections see it.
    this.#subscriptions.push(source.assignments.subscribe((e) => this.#ownership(e)))
    const task = (p: AssignedPartition) =>
      defer(() => {
        if (this.owned.get(p.partition) !== p.epoch) this.#violation(`ran for ${p.partition}@${p.epoch} while owning ${this.owned.get(p.partition)}`)
        if (this.#running.has(p.partition)) this.#violation(`two runs at once for ${p.partition}`)
        this.#running.set(p.partition, p.epoch)
        this.runs.push({ partition: p.partition, epoch: p.epoch })
        return timer(20).pipe(finalize(() => this.#running.delete(p.partition)))
      })
    this.#subscriptions.push(
      merge(source.pipe(commitOffsets(source, { interval: 100 })), interjections(source.assignments, task, { every: 100, jitter: 50 })).subscribe({
        error: (e) => this.#violation(`pipeline failed: ${String(e)}`),
      }),
    )
    // Subscribed after the pipeline: by the time this sees a revoke, the run it stopped must have ended.
    this.#subscriptions.push(
      source.assignments.subscribe((e) => {
        if (e.type === 'revoked' && this.#running.get(e.partition) === e.epoch) this.#violation(`run for ${e.partition}@${e.epoch} outlived its revoke`)
      }),
    )
  }

  /** Leaves the group; the ownership log stays subscribed until the shutdown revoked everything. */
  async stop(): Promise<void> {
    const [ownership, ...rest] = this.#subscriptions.splice(0)
    for (const s of rest.reverse()) s.unsubscribe()
    await this.#source.closed()
    ownership?.unsubscribe()
  }

  /** True when this member owns `partitions` exactly, and ran its task for each under the current epoch. */
  ranForAll(partitions: readonly number[]): boolean {
    if (this.owned.size !== partitions.length || !partitions.every((p) => this.owned.has(p))) return false
    return partitions.every((p) => this.runs.some((r) => r.partition === p && r.epoch === this.owned.get(p)))
  }

  #ownership(e: PartitionEvent): void {
    this.log.push(`${e.type} ${e.partition}@${e.epoch}`)
    if (e.type === 'assigned') this.owned.set(e.partition, e.epoch)
    else if (this.owned.get(e.partition) === e.epoch) this.owned.delete(e.partition)
  }

  #violation(sentence: string): void {
    if (this.violations.length < 20) this.violations.push(`${this.name}: ${sentence}`)
  }
}

describe('integration: interjections follow partition ownership through rebalances', function () {
  const cleanup: (() => Promise<void>)[] = []
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!().catch(() => undefined)
  })

  it('runs per owned partition, stops for partitions lost to a joining member, resumes when it leaves', async function () {
    this.timeout(180_000)
    const topic = await createTopic('interjections', PARTITIONS.length)
    const groupId = uniqueName('interjections-group')
    const a = new Member('a', topic, groupId)
    const b = new Member('b', topic, groupId)
    cleanup.push(() => a.stop(), () => b.stop())
    const explain = (): string => [a, b].map((m) => `${m.name}: ${m.log.join(', ')}; runs ${m.runs.length}; ${m.violations.join('; ')}`).join('\n')

    a.start()
    await explained(waitFor(() => a.ranForAll(PARTITIONS), 'a to own all 4 partitions and run for each'), explain)
    const firstEpochs = new Map(a.owned)

    b.start()
    const split = (): boolean => {
      if (a.owned.size === 0 || b.owned.size === 0 || a.owned.size + b.owned.size !== PARTITIONS.length) return false
      return a.ranForAll([...a.owned.keys()]) && b.ranForAll([...b.owned.keys()])
    }
    await explained(waitFor(split, 'a and b to share the partitions and each run for its own'), explain)
    const lost = PARTITIONS.filter((p) => !a.owned.has(p))
    const bEpochs = new Map(b.owned)
    // Epochs count per source: a's next assignment is newer than this one.
    const aSplitEpoch = Math.max(...a.owned.values())
    expect(lost.sort()).to.deep.equal([...b.owned.keys()].sort())
    for (const p of lost) {
      // a ran for a lost partition only in an ownership before b joined, and saw it revoked.
      expect(a.runs.filter((r) => r.partition === p).every((r) => r.epoch <= firstEpochs.get(p)!), `a's runs for ${p}`).to.equal(true)
      expect(a.log).to.include(`revoked ${p}@${firstEpochs.get(p)}`)
    }

    await b.stop()
    await explained(waitFor(() => a.ranForAll(PARTITIONS) && lost.every((p) => a.owned.get(p)! > aSplitEpoch), 'a to get every partition back'), explain)
    expect(b.owned.size, 'b owns nothing after it left').to.equal(0)
    for (const p of lost) expect(b.log).to.include(`revoked ${p}@${bEpochs.get(p)}`)
    expect([...a.violations, ...b.violations]).to.deep.equal([])
  })
})
