// kafka-rx/testing's in-memory world: a correct pipeline passes every checker in worlds with rebalances,
// crashes and failing commits; runs are deterministic (so failures shrink); fast-check's scheduler and a
// TestScheduler can drive them.
import { expect } from 'chai'
import fc from 'fast-check'
import { concatMap, from, retry } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { commitOffsets, groupByKeyConcat, orderedMerge, recordKey } from '../index'
import { checkPipeline, runPipeline, worlds, type PipelineUnderTest } from '../lib/testing'

/** groupByKeyConcat + orderedMerge + commitOffsets, retrying the scripted work failures. */
const correct: PipelineUnderTest<Buffer | null, Buffer | null> = (source, { work, scheduler, output }) =>
  source.pipe(
    groupByKeyConcat(recordKey, (r) => work(r).pipe(retry(3)), { concurrency: 4, skip: source.isStale }),
    orderedMerge(),
    output(),
    commitOffsets(source, { interval: 3, scheduler }),
  )

describe('kafka-rx/testing: a correct pipeline in the in-memory world', () => {
  it('passes every checker: 2 members, 2 partitions, rebalances, crashes, failing commits (400 runs)', async () => {
    await fc.assert(fc.asyncProperty(worlds(), async (world) => checkPipeline(await runPipeline(world, correct))), { numRuns: 400 })
  })

  it('passes every checker: 3 members, 4 partitions, a small budget that holds batches (150 runs)', async () => {
    // maxInFlight 3: batches are held inside eachBatch while the budget is used up, across rebalances.
    const options = { source: { maxInFlight: 3 } }
    await fc.assert(
      fc.asyncProperty(worlds({ members: 3, partitions: 4, maxRecords: 8 }), async (world) => checkPipeline(await runPipeline(world, correct, options))),
      { numRuns: 150 },
    )
  })

  it('actually exercises the world: rebalances, crashes, refused commits, failures, markers and gaps all happen', async () => {
    const seen = new Set<string>()
    for (const world of fc.sample(worlds(), { numRuns: 100, seed: 7 })) {
      const log = await runPipeline(world, correct)
      for (const e of log.events) seen.add(e.kind === 'commit-refused' ? `refused ${e.reason.split(' ')[0]}` : e.kind)
      if (world.partitions.some((p) => p.some((e) => e.control === true))) seen.add('marker')
      if (world.partitions.some((p) => p.some((e, i) => e.offset > i))) seen.add('gap')
    }
    expect([...seen].sort()).to.include.members(['assign', 'commit', 'crash', 'error', 'gap', 'marker', 'output', 'refused generation', 'refused injected', 'work-failed'])
  })

  it('is deterministic: the same world gives the same log (what lets fast-check shrink)', async () => {
    // Mutation caught: a fetch that picks its partition by Math.random(), or a clock read from Date.now().
    await fc.assert(
      fc.asyncProperty(worlds(), async (world) => {
        const a = await runPipeline(world, correct)
        const b = await runPipeline(world, correct)
        expect(b.events).to.deep.equal(a.events)
      }),
      { numRuns: 60 },
    )
  })

  it("fast-check's scheduler orders the pipeline's own promises", async () => {
    // The work of each record starts when fast-check releases its promise: the interleavings are fast-check's.
    await fc.assert(
      fc.asyncProperty(worlds({ crashes: false }), fc.scheduler(), async (world, s) => {
        const log = await runPipeline(
          world,
          (source, { work, scheduler, output }) =>
            source.pipe(
              groupByKeyConcat(recordKey, (r) => from(s.schedule(Promise.resolve(r))).pipe(concatMap(() => work(r)), retry(3)), {
                concurrency: 4,
                skip: source.isStale,
              }),
              orderedMerge(),
              output(),
              commitOffsets(source, { interval: 3, scheduler }),
            ),
          { promises: s },
        )
        checkPipeline(log)
      }),
      { numRuns: 80 },
    )
  })

  it('runs on a TestScheduler as its clock', async () => {
    await fc.assert(
      fc.asyncProperty(worlds(), async (world) => {
        const scheduler = new TestScheduler((a, b) => {
          expect(a).to.deep.equal(b)
        })
        checkPipeline(await runPipeline(world, correct, { scheduler }))
      }),
      { numRuns: 40 },
    )
  })
})
