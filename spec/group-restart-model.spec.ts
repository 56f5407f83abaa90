import { expect } from 'chai'
import fc from 'fast-check'
import { lastValueFrom } from 'rxjs'
import { GroupWorld, flush, type Ending } from './fixtures/group-world'

// Issue 15 part 7. Invariant, in one line: after any run, restarting the group processes every record from
// the first one the group was ever delivered on (no reset policy can skip one); and no commit ever passes a
// record that was never finished.
//
// A model-based run (fc.commands) over fromKafka and its commit path with a fake kafkajs consumer whose
// group keeps committed offsets across members and applies the reset policy (earliest / latest) when there
// is none: records produced while it runs, fetches, finishes (or none: stuck work), `failed` results with a
// route (dead-lettered: finished) and without (the commit stops at it and the stream errors, as
// commitOffsets does), commits, rebalances (the partition moving away and back), and the member ending by
// drain timeout, unsubscribe, error, revoke or crash (SIGKILL: nothing more reaches the broker), then the
// next member. Assignments start with and without a committed offset.
//
// Mutations seen to fail it:
// - session.ts without the start-position commit (`this.#starts.commit`): with `latest`, a member ending
//   before anything of a partition finished leaves no commit; the next one starts at the log end
//   ("never processed: 0@3,...").
// - StartCommits not awaiting the commit before the first delivery: with a slow broker a crash (SIGKILL)
//   before the acknowledgement loses the start ("never processed: ...").
// Not caught, rightly: StartCommits skipping the commit whenever this process ever committed the partition
// (not only that very offset): kafkajs fetched from a commit then, so the start is durable anyway.

interface Model { readonly world: GroupWorld }
type Cmd = fc.AsyncCommand<Model, GroupWorld>

const cmd = (name: string, run: (w: GroupWorld) => Promise<void>): Cmd => ({
  check: () => true,
  run: async (_m, w) => {
    await run(w)
    expect(w.problems, name).to.deep.equal([])
  },
  toString: () => name,
})

const produce = fc.record({ partition: fc.nat(1), count: fc.integer({ min: 1, max: 4 }), control: fc.boolean() })
  .map(({ partition, count, control }) => cmd(`produce(${partition}, ${count}${control ? ', marker' : ''})`, async (w) => w.produce(partition, count, control)))
const fetchCmd = fc.record({ partition: fc.nat(1), max: fc.integer({ min: 1, max: 4 }) })
  .map(({ partition, max }) => cmd(`fetch(${partition}, ${max})`, (w) => w.member.fetch(partition, max, w.problems)))
const finish = fc.nat().map((pick) => cmd(`finish(${pick})`, async (w) => {
  w.member.finish(pick, w)
  await flush()
}))
const failed = fc.record({ pick: fc.nat(), routed: fc.boolean() }).map(({ pick, routed }) =>
  cmd(`failed(${pick}, ${routed ? 'dead-lettered' : 'no route'})`, async (w) => {
    const m = w.member
    if (routed) m.finish(pick, w) // a dead-letter route: the record is finished
    else {
      const open = m.pending.filter((r) => !m.held.has(r))
      if (open.length === 0) return
      m.held.add(open[pick % open.length]!) // commitOffsets stops at it and errors the stream: end the member
      await w.restart('unsubscribe', false)
    }
  }))
// Sent, not awaited: with a slow broker it is acknowledged at the next `ack`.
const commit = fc.constant(cmd('commit', async (w) => {
  if (!w.member.ended) void lastValueFrom(w.member.source.commit(w.member.source.tracker.committable())).catch(() => undefined)
  await flush()
}))
const ack = fc.constant(cmd('ack', (w) => w.member.ack()))
const rebalance = fc.subarray([0, 1]).map((partitions) => cmd(`rebalance([${partitions.join(',')}])`, (w) => w.member.rejoin(partitions)))
const endings: Ending[] = ['drain timeout', 'unsubscribe', 'error', 'revoke', 'crash']
const restart = fc.record({ how: fc.constantFrom(...endings), stuckFirst: fc.boolean() }).map(({ how, stuckFirst }) =>
  cmd(`${how}, next member${stuckFirst ? ' (first records stuck)' : ''}`, (w) => w.restart(how, stuckFirst)))

const commands = fc.commands([produce, produce, fetchCmd, fetchCmd, fetchCmd, finish, finish, failed, commit, ack, ack, rebalance, restart, restart], { size: 'medium' })

const setup = fc.record({
  fromBeginning: fc.boolean(), // reset policy: earliest or latest
  maxInFlight: fc.integer({ min: 1, max: 6 }),
  // The group's committed offset per partition before the run, or none.
  initialCommits: fc.tuple(fc.option(fc.nat(3), { nil: undefined }), fc.option(fc.nat(3), { nil: undefined })),
  initialRecords: fc.tuple(fc.nat(4), fc.nat(4)),
  stuckFirst: fc.boolean(),
  slowCommits: fc.boolean(), // commits acknowledged only at `ack` (or at once)
})

describe('fromKafka and its group across restarts (model-based)', () => {
  it('processes every record from the first one delivered, whatever the reset policy and the way members end', async () => {
    await fc.assert(
      fc.asyncProperty(setup, commands, async (s, cmds) => {
        const world = new GroupWorld(s.fromBeginning, s.maxInFlight, s.initialCommits, s.stuckFirst, s.slowCommits)
        s.initialRecords.forEach((n, p) => n > 0 && world.produce(p, n, false))
        await flush()
        await fc.asyncModelRun(() => ({ model: { world }, real: world }), cmds)
        expect(await world.drainAll()).to.deep.equal([])
      }),
      { numRuns: 1000 },
    )
  })
})
