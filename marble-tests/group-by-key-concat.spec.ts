import { expect } from 'chai'
import { type Observable } from 'rxjs'
import { type RunHelpers, TestScheduler } from 'rxjs/testing'
import { groupByKeyConcat } from '../operators/group-by-key-concat'

// Items are strings whose first letter is the key: 'a1', 'a2' share key 'a'.
const keyOf = (item: string): string => item[0]!
const done = (item: string, ...results: string[]) => ({ item, results })
type Cold = Observable<string> & { readonly subscriptions: Parameters<RunHelpers['expectSubscriptions']>[0] }

describe('groupByKeyConcat (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected)
    })
  })

  /** A projection taking a cold observable per item, so each item's subscription can be checked. */
  function projections(
    cold: RunHelpers['cold'],
    inners: Record<string, string>,
  ): { project: (item: string) => Observable<string>; inner: Record<string, Cold> } {
    const inner: Record<string, Cold> = {}
    for (const [item, marbles] of Object.entries(inners)) inner[item] = cold(marbles, { r: `${item}!`, s: `${item}?` })
    return { project: (item) => inner[item]!, inner }
  }

  it('behaves as the JSDoc sketch shows', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-abc|', { a: 'a1', b: 'b1', c: 'a2' })
      const { project, inner } = projections(cold, { a1: '---(r|)', b1: '---(r|)', a2: '---(r|)' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('----AB-(C|)', {
        A: done('a1', 'a1!'),
        B: done('b1', 'b1!'),
        C: done('a2', 'a2!'),
      })
      expectSubscriptions(inner.a1!.subscriptions).toBe('-^--!')
      expectSubscriptions(inner.b1!.subscriptions).toBe('--^--!')
      expectSubscriptions(inner.a2!.subscriptions).toBe('----^--!')
    })
  })

  it('runs the items of one key one after another, in arrival order', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|', { a: 'k1', b: 'k2', c: 'k3' })
      const { project, inner } = projections(cold, { k1: '---(r|)', k2: '---(r|)', k3: '---(r|)' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('----x--y--(z|)', {
        x: done('k1', 'k1!'),
        y: done('k2', 'k2!'),
        z: done('k3', 'k3!'),
      })
      expectSubscriptions(inner.k1!.subscriptions).toBe('-^--!')
      expectSubscriptions(inner.k2!.subscriptions).toBe('----^--!') // waits for k1 although it came at 3
      expectSubscriptions(inner.k3!.subscriptions).toBe('-------^--!')
    })
  })

  it('runs different keys concurrently and emits in completion order', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-|', { a: 'a1', b: 'b1' })
      const { project, inner } = projections(cold, { a1: '-----(r|)', b1: '-(r|)' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('----y-(x|)', {
        x: done('a1', 'a1!'),
        y: done('b1', 'b1!'),
      })
      expectSubscriptions(inner.a1!.subscriptions).toBe('-^----!')
      expectSubscriptions(inner.b1!.subscriptions).toBe('---^!')
    })
  })

  it('never runs more than `concurrency` projections, whatever the keys', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-(abc|)', { a: 'a1', b: 'b1', c: 'c1' })
      const { project, inner } = projections(cold, { a1: '--(r|)', b1: '----(r|)', c1: '--(r|)' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project, { concurrency: 2 }))).toBe('---x-(yz|)', {
        x: done('a1', 'a1!'),
        y: done('b1', 'b1!'),
        z: done('c1', 'c1!'),
      })
      expectSubscriptions(inner.a1!.subscriptions).toBe('-^-!')
      expectSubscriptions(inner.b1!.subscriptions).toBe('-^---!')
      expectSubscriptions(inner.c1!.subscriptions).toBe('---^-!') // took a1's slot
    })
  })

  it('sends a key that has more work to the back of the line (round-robin)', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('-(abcd|)', { a: 'a1', b: 'a2', c: 'a3', d: 'b1' })
      const { project } = projections(cold, { a1: '-(r|)', a2: '-(r|)', a3: '-(r|)', b1: '-(r|)' })
      // b1 arrived last but runs second: a hot key cannot starve the others.
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project, { concurrency: 1 }))).toBe('--wxy(z|)', {
        w: done('a1', 'a1!'),
        x: done('b1', 'b1!'),
        y: done('a2', 'a2!'),
        z: done('a3', 'a3!'),
      })
    })
  })

  it('emits one Processed per item with every value (none, one or many) its projection emitted', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('-a-b-c|', { a: 'a1', b: 'b1', c: 'c1' })
      const { project } = projections(cold, { a1: '-r-s-r|', b1: '-|', c1: '(r|)' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('----yz-(x|)', {
        x: done('a1', 'a1!', 'a1?', 'a1!'),
        y: done('b1'),
        z: done('c1', 'c1!'),
      })
    })
  })

  it('emits skipped items at once with no results, without running them, when their turn comes', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-(abc|)', { a: 'a1', b: 'a2', c: 'b1' })
      const { project, inner } = projections(cold, { a1: '---(r|)', a2: '-(r|)', b1: '-(r|)' })
      const skip = (item: string) => item === 'a2' || item === 'b1'
      // b1 is skipped at once; a2 is skipped only once a1 is done: the key's order still holds.
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project, { skip }))).toBe('-z--(xy|)', {
        x: done('a1', 'a1!'),
        y: done('a2'),
        z: done('b1'),
      })
      expectSubscriptions(inner.a2!.subscriptions).toBe([])
      expectSubscriptions(inner.b1!.subscriptions).toBe([])
    })
  })

  it('errors once when a projection errors, and cancels the other running projections', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|', { a: 'a1', b: 'b1', c: 'a2' })
      const { project, inner } = projections(cold, { a1: '------r|', b1: '--#', a2: '-r|' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('-----#', undefined, 'error')
      expectSubscriptions(inner.a1!.subscriptions).toBe('-^---!')
      expectSubscriptions(inner.a2!.subscriptions).toBe([]) // queued work is dropped
    })
  })

  it('errors when project throws, and cancels running projections', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-|', { a: 'a1', b: 'b1' })
      const { inner } = projections(cold, { a1: '------r|' })
      const project = (item: string) => {
        if (item === 'b1') throw new Error('boom')
        return inner[item]!
      }
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('---#', undefined, new Error('boom'))
      expectSubscriptions(inner.a1!.subscriptions).toBe('-^-!')
    })
  })

  it('errors when keyOf throws, and unsubscribes the source', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|', { a: 'a1', b: 'b1', c: 'c1' })
      const { project } = projections(cold, { a1: '(r|)', b1: '-r|', c1: '-r|' })
      const badKey = (item: string) => {
        if (item === 'b1') throw new Error('no key')
        return keyOf(item)
      }
      expectObservable(source.pipe(groupByKeyConcat(badKey, project))).toBe('-x-#', { x: done('a1', 'a1!') }, new Error('no key'))
      expectSubscriptions(source.subscriptions).toBe('^--!')
    })
  })

  it('cancels running projections and drops queued work when unsubscribed', () => {
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-ab-c---|', { a: 'a1', b: 'a2', c: 'c1' })
      const { project, inner } = projections(cold, { a1: '-----r|', a2: '-r|', c1: '-----r|' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project)), '^-----!').toBe('-')
      expectSubscriptions(inner.a1!.subscriptions).toBe('-^----!')
      expectSubscriptions(inner.a2!.subscriptions).toBe([])
      expectSubscriptions(inner.c1!.subscriptions).toBe('----^-!')
      expectSubscriptions(source.subscriptions).toBe('^-----!')
    })
  })

  it('completes only when the source completed and every projection finished', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('-(ab)|', { a: 'a1', b: 'a2' })
      const { project } = projections(cold, { a1: '---r|', a2: '--r|' })
      expectObservable(source.pipe(groupByKeyConcat(keyOf, project))).toBe('-----x--(y|)', {
        x: done('a1', 'a1!'),
        y: done('a2', 'a2!'),
      })
    })
  })

  it('completes at once on an empty source, and passes source errors through', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<string>('--|').pipe(groupByKeyConcat(keyOf, () => cold('-r|')))).toBe('--|')
      expectObservable(cold<string>('--#').pipe(groupByKeyConcat(keyOf, () => cold('-r|')))).toBe('--#')
    })
  })
})
