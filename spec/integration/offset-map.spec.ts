// Offset maps against the real broker: a run leaves records finished behind a slow one (the committed
// offset stays at the slow record), stops, and the next member of the group runs only what did not finish.
// Consumers use kafkajs's default options (no shortened maxWaitTimeInMs or sessionTimeout).
import { expect } from 'chai'
import type { Admin, Kafka } from 'kafkajs'
import { NEVER, of, type Subscription } from 'rxjs'
import { fromKafka, type SourceRecord } from '../../lib/source/from-kafka'
import { commitOffsets, type Commit } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { connectClients } from './fixtures/clients'
import { waitFor } from './fixtures/group-harness'

const RECORDS = 300

interface Run {
  readonly ran: string[]
  readonly commits: Commit[]
  readonly stop: () => Promise<void>
}

// One member running the pipeline: the record at `slowOffset` (key 'slow') never finishes, the others at once.
function runMember(kafka: Kafka, admin: Admin, topic: string, groupId: string, withMap: boolean, slowOffset?: string): Run {
  const ran: string[] = []
  const commits: Commit[] = []
  const source = fromKafka(kafka.consumer({ groupId }), {
    topics: [topic],
    fromBeginning: true,
    ...(withMap ? { offsetMap: { admin, groupId } } : {}),
  })
  const subscription: Subscription = source
    .pipe(
      groupByKeyConcat<SourceRecord<Buffer | null, Buffer | null>, string>(
        (r) => r.key?.toString(),
        (r) => {
          ran.push(r.offset)
          return r.offset === slowOffset ? NEVER : of(r.offset)
        },
        { skip: source.isStale },
      ),
      commitOffsets(source, { interval: 100 }),
    )
    .subscribe({ next: (c) => commits.push(c) })
  return {
    ran,
    commits,
    stop: async () => {
      subscription.unsubscribe()
      await source.closed()
    },
  }
}

describe('integration: offset map in commit metadata', function () {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!().catch(() => undefined)
  })

  for (const withMap of [false, true]) {
    it(`${withMap ? 'with' : 'without'} the map: records finished behind a slow one ${withMap ? 'are not' : 'are'} run again by the next member`, async function () {
      this.timeout(180_000)
      const kafka = testKafka(uniqueName('offset-map'))
      const { admin, producer } = await connectClients(kafka, cleanup)
      const topic = await createTopic('offset-map', 1)
      const groupId = uniqueName('offset-map-group')
      await producer.send({
        topic,
        messages: Array.from({ length: RECORDS }, (_, i) => ({ key: i === 0 ? 'slow' : `k${i % 7}`, value: String(i) })),
      })

      const first = runMember(kafka, admin, topic, groupId, withMap, '0')
      cleanup.push(first.stop)
      await waitFor(() => first.ran.length === RECORDS, 'first member ran every record')
      // A commit after the last finish: with the map it carries everything above offset 0.
      const seen = first.commits.length
      await waitFor(() => !withMap || first.commits.length > seen, 'a commit after the last finish')
      await first.stop()
      const [committed] = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions
      // Held at the slow record: the start position the source committed before its first delivery.
      expect(committed!.offset).to.equal('0')
      if (withMap) expect(committed!.metadata).to.match(/^krx1:/)
      else expect(committed!.metadata ?? '').to.equal('')

      const second = runMember(kafka, admin, topic, groupId, withMap)
      cleanup.push(second.stop)
      await waitFor(async () => {
        const [p] = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions
        return p!.offset === String(RECORDS)
      }, 'the second member committed the end offset')
      const again = second.ran.filter((o) => o !== '0').length
      console.log(`      ${withMap ? 'with' : 'without'} map: ${again} of ${RECORDS - 1} finished records run again; metadata ${committed!.metadata?.length ?? 0} bytes`)
      expect(second.ran).to.include('0') // the unfinished one always runs again
      expect(again).to.equal(withMap ? 0 : RECORDS - 1)
      await second.stop()
    })
  }
})
