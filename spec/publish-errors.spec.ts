import { expect } from 'chai'
import { from, lastValueFrom, map, mergeMap } from 'rxjs'
import { publish } from '../lib/publish/publish'
import type { KafkaProducerLike } from '../lib/client/producer'
import type { Processed } from '../operators/processed'
import { forward, type OutputMessage, type Result } from '../operators/result'
import { recordBuilder, type TestRecord } from '../lib/testing/records'

type In = Processed<TestRecord, Result<OutputMessage>>
const producer: KafkaProducerLike = { sendBatch: async () => undefined }

/** The error publish ends with for inputs whose results are `results`. */
async function errorFor(results: unknown[]): Promise<Error> {
  const item = recordBuilder({ topic: 'orders' })({ partition: 3, offset: 41, key: 'k' })
  const input = { item, results } as unknown as In
  try {
    await lastValueFrom(from([input]).pipe(publish(producer, { topic: 'out' })))
  } catch (e) {
    return e as Error
  }
  throw new Error('publish did not fail')
}

describe('publish: errors that point at their cause', () => {
  it('an array of results (an async projection returning an array) names the record, what came, and the fix', async () => {
    // What a user writes: async work returning an array; groupByKeyConcat emits the array as ONE value.
    const item = recordBuilder({ topic: 'orders' })({ partition: 3, offset: 41, key: 'k' })
    const results: unknown[] = []
    await lastValueFrom(from([item]).pipe(
      mergeMap(async (r) => [forward({ key: r.key, value: 'a' }), forward({ key: r.key, value: 'b' })]),
      map((v) => results.push(v)),
    ))
    const error = await errorFor(results)
    expect(error).to.be.instanceOf(TypeError)
    expect(error.message).to.contain('publish: expected a Result').and.contain('orders/3@41')
      .and.contain('received an array of 2 [{"kind":"forward"').and.contain('forwardMany')
  })

  it('undefined, null, a string and an unknown kind each say what they are', async () => {
    expect((await errorFor([undefined])).message).to.contain('received undefined')
    expect((await errorFor([null])).message).to.contain('received null')
    expect((await errorFor(['ok'])).message).to.contain('received string "ok"')
    expect((await errorFor([{ kind: 'forwrd' }])).message).to.contain('received object {"kind":"forwrd"}')
  })

  it('a long value is cut short, and a value JSON cannot print does not throw', async () => {
    expect((await errorFor([{ kind: 'x', text: 'y'.repeat(1000) }])).message.length).to.be.below(500)
    const cyclic: Record<string, unknown> = { kind: 'x' }
    cyclic.self = cyclic
    expect((await errorFor([cyclic])).message).to.contain('received object [object Object]')
  })
})
