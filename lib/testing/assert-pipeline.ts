import { checkPipeline } from './checkers/check-pipeline'
import type { CheckerName } from './checkers/violation'
import { fastCheck } from './arbitraries/fast-check'
import { worlds, type WorldOptions } from './arbitraries/worlds'
import type { PipelineUnderTest } from './member-process'
import { runPipeline, type RunPipelineOptions } from './run-pipeline'

/** Options of {@link assertPipeline}. */
export interface AssertPipelineOptions<K, V> {
  /** The worlds to generate (see `worlds`). */
  world?: WorldOptions
  /** How each world is run (see `runPipeline`). */
  run?: RunPipelineOptions<K, V>
  /** The checkers to apply. Default: all of them. */
  checkers?: readonly CheckerName[]
  /** Generated worlds. Default 100. */
  numRuns?: number
  /** fast-check's seed, to replay a failure. */
  seed?: number
}

/**
 * The whole property in one call: for `numRuns` generated worlds, runs `pipeline` in each and applies the
 * checkers. Rejects with fast-check's report (the shrunk world, and the checker's counterexample in words)
 * when one fails.
 *
 * ```text
 * worlds() ──▶ runPipeline(world, pipeline) ──▶ checkPipeline(log)   x numRuns, shrinking on failure
 * ```
 *
 * @example
 * await assertPipeline((source, { work, scheduler, output }) => source.pipe(
 *   groupByKeyConcat(recordKey, (r) => work(r).pipe(retry(2)), { skip: source.isStale }),
 *   orderedMerge(), output(), commitOffsets(source, { interval: 5, scheduler })))
 */
export async function assertPipeline<K = Buffer | null, V = Buffer | null>(
  pipeline: PipelineUnderTest<K, V>,
  options: AssertPipelineOptions<K, V> = {},
): Promise<void> {
  const fc = fastCheck()
  const property = fc.asyncProperty(worlds(options.world), async (world) => {
    checkPipeline(await runPipeline(world, pipeline, options.run), options.checkers)
  })
  await fc.assert(property, { numRuns: options.numRuns ?? 100, ...(options.seed === undefined ? {} : { seed: options.seed }) })
}
