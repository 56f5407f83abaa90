// The checkers catch real user mistakes: each property below runs a subtly wrong pipeline in generated
// worlds and must FIND a counterexample, reported by the checker named in the test.
import { expect } from 'chai'
import fc from 'fast-check'
import { catchError, EMPTY, filter, map, mergeMap, retry } from 'rxjs'
import { commitOffsets, groupByKeyConcat, isDecodeFailure, jsonDecoder, orderedMerge, recordKey, type Decoder } from '../index'
import { checkPipeline, PipelineViolation, runPipeline, worlds, type CheckerName, type PipelineUnderTest, type WorldOptions } from '../lib/testing'

/** Runs `pipeline` in generated worlds; returns the checker of the (shrunk) counterexample and its message. */
async function findMistake<V>(pipeline: PipelineUnderTest<Buffer | null, V>, world: WorldOptions = {}, valueDecoder?: Decoder<V>) {
  const result = await fc.check(
    fc.asyncProperty(worlds(world), async (w) => {
      checkPipeline(await runPipeline(w, pipeline, { source: valueDecoder === undefined ? {} : { valueDecoder } }))
    }),
    { numRuns: 200, seed: 18 },
  )
  expect(result.failed, 'fast-check found no counterexample').to.equal(true)
  const error = result.errorInstance
  expect(error).to.be.instanceOf(PipelineViolation)
  if (process.env.SHOW_MISTAKES !== undefined) console.log(`${(error as Error).message}\n  in ${JSON.stringify(result.counterexample)}`)
  return { checker: (error as PipelineViolation).checker as CheckerName, message: (error as PipelineViolation).message }
}

describe('kafka-rx/testing catches user mistakes', () => {
  it('a filter before commitOffsets stalls the commit: progress', async () => {
    // The user drops undecodable records with `filter`: they never reach commitOffsets, so they are never
    // finished and the commit stops in front of the first one for good.
    const { checker, message } = await findMistake(
      (source, { work, scheduler, output }) =>
        source.pipe(
          filter((r) => !isDecodeFailure(r)),
          groupByKeyConcat(recordKey, (r) => work(r).pipe(retry(3)), { concurrency: 4, skip: source.isStale }),
          orderedMerge(),
          output(),
          commitOffsets(source, { interval: 3, scheduler }),
        ),
      { rebalances: false, crashes: false, commitFailures: false },
      jsonDecoder<unknown>(),
    )
    expect(checker).to.equal('progress')
    expect(message).to.match(/^progress: orders\/\d ends .*, its log ends at \d+: stuck before orders\/\d@\d+ \(key .*\), which never finished/)
  })

  it('a stage that emits a record twice: partition-order', async () => {
    // A cache after orderedMerge that emits the cached result, then the fresh one, for some records.
    const { checker, message } = await findMistake((source, { work, scheduler, output }) =>
      source.pipe(
        groupByKeyConcat(recordKey, (r) => work(r).pipe(retry(3)), { concurrency: 4, skip: source.isStale }),
        orderedMerge(),
        mergeMap((p) => (Number(p.item.offset) % 2 === 1 ? [p, p] : [p])),
        output(),
        commitOffsets(source, { interval: 3, scheduler }),
      ),
    )
    expect(checker).to.equal('partition-order')
    expect(message).to.match(/emitted twice by m\d \(process \d+\) in epoch \d+$/)
  })

  it('a mergeMap in place of groupByKeyConcat overlaps the work of one key: key-order', async () => {
    const { checker, message } = await findMistake((source, { work, scheduler }) =>
      source.pipe(
        mergeMap((r) => work(r).pipe(retry(3), map(() => r)), 4),
        commitOffsets(source, { interval: 3, scheduler }),
      ),
    )
    expect(checker).to.equal('key-order')
    expect(message).to.match(/^key-order: orders\/\d@\d+ \(key (null|"k\d\.\d")\) started by m\d \(process \d+\) while orders\/\d@\d+ \(key (null|"k\d\.\d")\) was still running$/)
  })

  it('an unguarded catchError that swallows a failure: at-least-once', async () => {
    // The failed work completes empty, so the record counts as done and the commit moves past it.
    const { checker, message } = await findMistake(
      (source, { work, scheduler, output }) =>
        source.pipe(
          groupByKeyConcat(recordKey, (r) => work(r).pipe(catchError(() => EMPTY)), { concurrency: 4, skip: source.isStale }),
          orderedMerge(),
          output(),
          commitOffsets(source, { interval: 3, scheduler }),
        ),
      { crashes: false },
    )
    expect(checker).to.equal('at-least-once')
    expect(message).to.match(/passes orders\/\d@\d+ \(key .*\), which had not finished: its work failed once and never succeeded$/)
  })
})
