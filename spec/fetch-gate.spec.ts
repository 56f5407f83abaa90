import { expect } from 'chai'
import { FetchGate } from '../lib/source/fetch-gate'
import type { TopicPartitionsLike } from '../lib/client/consumer'

describe('FetchGate', () => {
  function client() {
    const calls: string[] = []
    let running = true
    const fmt = (tps: TopicPartitionsLike[]) => tps.map((t) => `${t.topic}:${(t.partitions ?? []).join(',')}`).join(' ')
    return {
      calls,
      stopRunning: () => (running = false),
      startRunning: () => (running = true),
      consumer: {
        pause: (tps: TopicPartitionsLike[]) => {
          if (!running) throw new Error('not running')
          calls.push(`pause ${fmt(tps)}`)
        },
        resume: (tps: TopicPartitionsLike[]) => {
          if (!running) throw new Error('not running')
          calls.push(`resume ${fmt(tps)}`)
        },
      },
    }
  }

  it('pauses the owned partitions once, re-pauses a new assignment, and resumes all it paused', () => {
    const c = client()
    let owned = [{ topic: 't', partitions: [0, 1] }]
    const gate = new FetchGate(c.consumer, () => owned)
    gate.pause()
    gate.pause()
    owned = [{ topic: 't', partitions: [2] }]
    gate.reassigned()
    gate.resume()
    gate.resume()
    gate.reassigned() // not paused: nothing
    expect(c.calls).to.deep.equal(['pause t:0,1', 'pause t:2', 'resume t:0,1,2'])
    expect(gate.paused).to.equal(false)
  })

  it('keeps the intent when the client is not running, and applies it at the next assignment', () => {
    const c = client()
    const gate = new FetchGate(c.consumer, () => [{ topic: 't', partitions: [0] }])
    c.stopRunning()
    gate.pause()
    expect(gate.paused).to.equal(true)
    c.startRunning()
    gate.reassigned()
    gate.resume()
    expect(c.calls).to.deep.equal(['pause t:0', 'resume t:0'])
  })
})
