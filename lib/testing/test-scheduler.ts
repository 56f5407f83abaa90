import { deepStrictEqual } from 'node:assert'
import { TestScheduler } from 'rxjs/testing'

/**
 * An RxJS `TestScheduler` that compares frames with Node's `deepStrictEqual`, so marble tests of kafka-rx
 * pipelines run in virtual time under any test framework (mocha, jest, node:test) without a broker.
 *
 * @example
 * const scheduler = createTestScheduler()
 * scheduler.run(({ cold, expectObservable }) => {
 *   expectObservable(cold('a|').pipe(map(x => x.toUpperCase()))).toBe('A|', { A: 'A' })
 * })
 */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => deepStrictEqual(actual, expected))
}
