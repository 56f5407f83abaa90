// Issue 20, part 1, on a real broker: one partition whose first record is slow (2 s) never stalls the others.
// Its finished records wait behind it in orderedMerge and keep counting in flight; before the fair budget they
// filled `maxInFlight` and the other three partitions stopped for the full 2 s. With kafkajs's default consumer
// options. Asserted on the order of recorded times (every result of the other partitions before the slow record
// ended), never on a duration; the margin is logged.
import { expect } from 'chai'
import { performance } from 'node:perf_hooks'
import { tap } from 'rxjs'
import { fromKafka } from '../../lib/source/from-kafka'
import { recordKey } from '../../lib/record/record-key'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { suiteClients } from './fixtures/clients'
import { committedOffsetsOf, endOffsetsOf, pairs, sleep, until } from './fixtures/source-harness'

const PARTITIONS = 4
const PER_PARTITION = 300
const SLOW_MS = 2_000

describe('integration: fair in-flight budget across partitions', function () {
  const clients = suiteClients('fair-budget', {})

  for (const maxInFlight of [150, 50]) {
    it(`maxInFlight ${maxInFlight}: a slow head in one partition leaves the other partitions running (default consumer options)`, async function () {
      this.timeout(120_000)
      const topic = await createTopic(`fair-budget-${maxInFlight}`, PARTITIONS)
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const messages = Array.from({ length: PER_PARTITION }, (_, i) => ({ key: `p${partition}-k${i % 25}`, value: String(i), partition }))
        await clients.producer.send({ topic, messages })
      }
      const groupId = uniqueName('fair-budget-group')
      // kafkajs's defaults: no shortened maxWaitTimeInMs, sessionTimeout or heartbeatInterval.
      const consumer = testKafka('fair-budget').consumer({ groupId })
      const source = fromKafka(consumer, { topics: [topic], fromBeginning: true, maxInFlight })
      let slowEnded: number | undefined
      const lastResultAt = new Map<number, number>()
      const results = new Map<number, number>()
      let maxSeen = 0
      let failure: unknown
      const subscription = source
        .pipe(
          tap(() => (maxSeen = Math.max(maxSeen, source.tracker.inFlight))),
          groupByKeyConcat(
            recordKey,
            async (r) => {
              if (r.partition === 0 && r.offset === '0') {
                await sleep(SLOW_MS)
                slowEnded = performance.now()
              } else await sleep(1)
            },
            { concurrency: 64, skip: source.isStale },
          ),
          orderedMerge(),
          tap(({ item }) => {
            lastResultAt.set(item.partition, performance.now())
            results.set(item.partition, (results.get(item.partition) ?? 0) + 1)
          }),
          commitOffsets(source, { interval: 200 }),
        )
        .subscribe({ error: (e) => (failure = e) })
      try {
        await until(() => failure !== undefined || (slowEnded !== undefined && [...results.values()].reduce((a, b) => a + b, 0) >= PARTITIONS * PER_PARTITION && source.tracker.inFlight === 0), 'every record processed')
      } finally {
        subscription.unsubscribe()
        await source.closed()
      }
      expect(failure).to.equal(undefined)
      expect(maxSeen).to.be.at.most(maxInFlight)
      for (let partition = 0; partition < PARTITIONS; partition++) expect(results.get(partition), `results of partition ${partition}`).to.equal(PER_PARTITION)
      const othersDone = Math.max(...[1, 2, 3].map((p) => lastResultAt.get(p)!))
      // The bound is >= 1.5 s before the slow record ends; on a shared machine only the order is asserted.
      console.log(`      fair budget, maxInFlight ${maxInFlight}: the other partitions' results all done ${Math.round(slowEnded! - othersDone)} ms before the slow record ended`)
      expect(othersDone, 'the last result of partitions 1-3 came before the slow record of partition 0 finished').to.be.below(slowEnded!)
      expect(lastResultAt.get(0)!).to.be.at.least(slowEnded!)
      expect(pairs(await committedOffsetsOf(clients.admin, groupId, topic))).to.deep.equal(pairs(await endOffsetsOf(clients.admin, topic)))
    })
  }
})
