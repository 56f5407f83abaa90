// docs/testing.md's "Property-test your own pipeline" example, kept here verbatim (the test below asserts
// that the block in the page is this code) and run.
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { retry } from 'rxjs'
import { groupByKeyConcat, orderedMerge, commitOffsets, recordKey } from '../index'
import { assertPipeline } from '../lib/testing'

// --- the example, from its first comment line to its closing brace ---
// Rejects with the shrunk world and the broken invariant in words, e.g. "at-least-once: commit
// orders/1@1 by m1 (process 1) passes orders/1@0 (key null), which had not finished: its work failed once".
export function billingPipelineIsSafe(): Promise<void> {
  return assertPipeline(
    (source, { work, scheduler, output }) =>
      source.pipe(
        // work(record): the record's scripted work (virtual-time latency; the first attempts may fail).
        groupByKeyConcat(recordKey, (r) => work(r).pipe(retry(3)), { concurrency: 4, skip: source.isStale }),
        orderedMerge(),
        output(), // where results leave the pipeline: checked for partition order
        commitOffsets(source, { interval: 5, scheduler }),
      ),
    { numRuns: 200, world: { partitions: 3, members: 2 } },
  )
}
// --- end of the example ---

describe('docs/testing.md: Property-test your own pipeline', () => {
  it('the page shows this very code', () => {
    const root = join(__dirname, '..', '..')
    const page = readFileSync(join(root, 'docs', 'testing.md'), 'utf8')
    const section = page.slice(page.indexOf('## Property-test your own pipeline'))
    const block = section.slice(section.indexOf('```ts\n') + 6, section.indexOf('\n```', section.indexOf('```ts\n')))
    const own = readFileSync(join(root, 'spec', 'testing-toolkit-docs.spec.ts'), 'utf8')
    const example = own.slice(own.indexOf('// Rejects with'), own.indexOf('// --- end of the example ---')).trimEnd()
    const body = (code: string): string => code.slice(code.indexOf('// Rejects with')).trimEnd()
    expect(body(block)).to.equal(example)
    // The imports differ only by where they come from ('kafka-rx' there, the sources here).
    expect(block).to.include("import { groupByKeyConcat, orderedMerge, commitOffsets, recordKey } from 'kafka-rx'")
    expect(block).to.include("import { assertPipeline } from 'kafka-rx/testing'")
  })

  it('runs as written, and passes', async () => {
    await billingPipelineIsSafe()
  })
})
