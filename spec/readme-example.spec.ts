// The README's "Test your own pipeline" example, kept here verbatim so the README never shows code that fails.
import { strict as assert } from 'node:assert'
import { pipe, timer, map } from 'rxjs'
import { groupByKeyConcat, orderedMerge } from '../index'
import { records, runMarbles } from '../lib/testing'

describe('README example', () => {
  it('keeps per-key order and puts results back in partition order', () => {
    // Three records of partition 0: k1 is slow (5 frames), k2 is fast (1 frame).
    const input = records({ a: { key: 'k1', value: 'A' }, b: { key: 'k2', value: 'B' }, c: { key: 'k1', value: 'C' } })
    const events = runMarbles('abc|', input, (scheduler) =>
      pipe(
        groupByKeyConcat((r) => r.key, (r) => timer(r.key === 'k1' ? 5 : 1, scheduler).pipe(map(() => r.value)), {
          concurrency: 2,
        }),
        orderedMerge(),
      ),
    )
    const emitted = events.flatMap((e) => (e.kind === 'next' ? [[e.frame, e.value.item.offset, e.value.results]] : []))
    // b finished at frame 2 but waits for a (frame 5); c starts only after a, the earlier k1 record, finished.
    assert.deepEqual(emitted, [
      [5, '0', ['A']],
      [5, '1', ['B']],
      [10, '2', ['C']],
    ])
    assert.equal(events.at(-1)?.kind, 'complete')
  })
})
