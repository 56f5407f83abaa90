// Compile-time contracts of the public operators: this file fails `npm run build` if inference regresses.
import { expect } from 'chai'
import { lastValueFrom, of, toArray } from 'rxjs'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { recordKey } from '../lib/record/record-key'
import { recordBuilder } from '../lib/testing/records'
import type { RecordOrigin } from '../lib/record/record'
import type { Consumer } from 'kafkajs'
import type { KafkaConsumerLike } from '../lib/client/consumer'

describe('type inference', () => {
  it('groupByKeyConcat takes its item type from the source, not from a narrower keyOf such as recordKey', async () => {
    const make = recordBuilder()
    // Without NoInfer on keyOf, T would be recordKey's parameter type and `x.offset` would not compile.
    const out = await lastValueFrom(
      of(make({ key: 'a' }), make({ key: 'a' })).pipe(groupByKeyConcat(recordKey, (x) => of(x.offset)), toArray()),
    )
    expect(out.map((p) => p.results)).to.deep.equal([['0'], ['1']])
  })

  it('groupByKeyConcat takes its item type from the source, not from a wider skip such as source.isStale', async () => {
    const make = recordBuilder()
    const isStale = (_record: RecordOrigin): boolean => false
    // Without NoInfer on skip, T would be RecordOrigin and neither recordKey nor `x.value` would compile.
    const out = await lastValueFrom(
      of(make({ key: 'a', value: 'v' })).pipe(groupByKeyConcat(recordKey, (x) => of(x.value), { skip: isStale }), toArray()),
    )
    expect(out.map((p) => p.results)).to.deep.equal([['v']])
  })

  it('a kafkajs Consumer is a KafkaConsumerLike, and so is a client without pause/resume (the source never calls them)', () => {
    // Compile-time: fails the build if the slice requires something a kafkajs Consumer lacks, or pause/resume again.
    const fromKafkajs = (c: Consumer): KafkaConsumerLike => c
    const withoutPause = (c: Omit<Consumer, 'pause' | 'resume'>): KafkaConsumerLike => c
    expect([fromKafkajs, withoutPause]).to.have.length(2)
  })
})
