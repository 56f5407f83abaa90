import { expect } from 'chai'
import { bufferDecoder, isDecodeFailure, jsonDecoder, stringDecoder } from '../lib/record/decoders'

const ctx = { topic: 't', partition: 0, offset: '0', headers: {} }

describe('decoders', () => {
  it('bufferDecoder passes bytes and null through', () => {
    const b = Buffer.from('x')
    expect(bufferDecoder(b, ctx)).to.equal(b)
    expect(bufferDecoder(null, ctx)).to.equal(null)
  })

  it('stringDecoder is strict UTF-8 and keeps null', () => {
    expect(stringDecoder(Buffer.from('héllo'), ctx)).to.equal('héllo')
    expect(stringDecoder(Buffer.alloc(0), ctx)).to.equal('')
    expect(stringDecoder(null, ctx)).to.equal(null)
    expect(() => stringDecoder(Buffer.from([0xc3, 0x28]), ctx)).to.throw(TypeError)
  })

  it('jsonDecoder parses, validates when asked, and keeps tombstones null', () => {
    expect(jsonDecoder()(Buffer.from('{"a":1}'), ctx)).to.deep.equal({ a: 1 })
    expect(jsonDecoder()(null, ctx)).to.equal(null)
    expect(() => jsonDecoder()(Buffer.from('{'), ctx)).to.throw(SyntaxError)
    const positive = jsonDecoder<number>((v) => {
      if (typeof v !== 'number' || v <= 0) throw new RangeError('not positive')
      return v
    })
    expect(positive(Buffer.from('3'), ctx)).to.equal(3)
    expect(() => positive(Buffer.from('-1'), ctx)).to.throw(RangeError)
  })

  it('isDecodeFailure tells failures from records', () => {
    const origin = { topic: 't', partition: 0, offset: '0', seq: 0, epoch: 1, headers: {}, timestamp: '0' }
    expect(isDecodeFailure({ ...origin, key: null, value: null })).to.equal(false)
    expect(isDecodeFailure({ ...origin, key: null, value: null, rawKey: null, rawValue: null, decodeError: { part: 'value', cause: new Error() } })).to.equal(true)
  })
})
