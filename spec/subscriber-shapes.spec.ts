import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

// What settleSubscriberShapes must do (its effect on V8's compiled code is measured by `npm run bench --
// session-cold`, not asserted here): in a fresh process, its throwaway subscriptions all end (none is left
// open to hold memory), and a second call does nothing. A child process, because the first call of this
// mocha process may already have happened in another spec (every fromKafka subscription calls it).
describe('settleSubscriberShapes', () => {
  it('ends every subscription it makes, and makes none on a second call', async () => {
    const script = `
      const { Observable } = require('rxjs')
      const made = []
      const subscribe = Observable.prototype.subscribe
      Observable.prototype.subscribe = function (...args) {
        const subscription = subscribe.apply(this, args)
        made.push(subscription)
        return subscription
      }
      const { settleSubscriberShapes } = require(${JSON.stringify(resolve(__dirname, '..', 'lib', 'source', 'subscriber-shapes.js'))})
      settleSubscriberShapes()
      const first = made.length
      settleSubscriberShapes()
      console.log(JSON.stringify({ first, second: made.length - first, open: made.filter((s) => !s.closed).length }))
    `
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, ['-e', script], { cwd: resolve(__dirname, '..', '..') }, (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done(out)))
    })
    const { first, second, open } = JSON.parse(stdout) as { first: number; second: number; open: number }
    expect(first, 'subscriptions made by the first call').to.be.above(0)
    expect(open, 'left open').to.equal(0)
    expect(second, 'subscriptions made by the second call').to.equal(0)
  })
})
