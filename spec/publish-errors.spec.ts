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

describe('publish: send failures', () => {
  const item = recordBuilder({ topic: 'in' })({ key: 'k' })
  const inputs = (): In[] => [{ item, results: [forward({ key: 'k', value: 'a' }), forward({ topic: 'other', key: 'k', value: 'b' })] }]
  const run = async (producer: KafkaProducerLike): Promise<Error> => {
    try {
      await lastValueFrom(from(inputs()).pipe(publish(producer, { topic: 'out', maxAttempts: 4, backoff: () => 0 })))
    } catch (e) {
      return e as Error
    }
    throw new Error('publish did not fail')
  }

  // Mutation caught: retrying an error the producer marked final (publish's 4 tries times kafkajs's own).
  it("does not retry a failure the producer marked final (kafkajs's retries ran out): one call, named error", async () => {
    let calls = 0
    const exhausted = Object.assign(new Error('This server does not host this topic-partition'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false })
    const error = await run({ sendBatch: async () => { calls++; throw exhausted } })
    expect(calls).to.equal(1)
    expect(error.name).to.equal('PublishSendError')
    expect(error.message).to.contain('publish: sending to topic(s) out, other failed after 1 attempt(s)')
      .and.contain('the producer had given up').and.contain('KafkaJSNumberOfRetriesExceeded')
    expect(error.cause).to.equal(exhausted)
  })

  it('retries other failures up to maxAttempts, then names the stage and the topics', async () => {
    let calls = 0
    const error = await run({ sendBatch: async () => { calls++; throw new Error('socket hang up') } })
    expect(calls).to.equal(4)
    expect(error.message).to.contain('topic(s) out, other failed after 4 attempt(s)').and.contain('socket hang up')
  })
})
