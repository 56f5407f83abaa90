// Measure (issue 17): SIGKILL a consumer at random points, records with slow keys holding finished records
// behind them, and count the finished records the next run starts again: without the offset map (today)
// and with it. Prints the figures and the fill of the metadata budget. Physics forces the redo of records
// that ended after the last commit the killed run had acknowledged (no commit could name them); the map
// is for the others, the records that ended well before the kill but behind a slow one. Asserts only that
// nothing is lost, that without the map such records do run again (so the measure measures something),
// and that with the map no record that ended before an acknowledged commit was sent runs again.
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { createTopic, testKafka, uniqueName } from './broker-hooks'
import { connectClients } from './fixtures/clients'
import { randomInt, seededRandom, sleep, testSeed, waitFor } from './fixtures/group-harness'
import type { MapCrashConfig } from './fixtures/map-crash-consumer'

const PARTITIONS = 2
const RECORDS = 3_000
const KILLS = 10
const SLOW_EVERY = 40 // one record in 40 has a slow key
const SLOW_MS = 3_000
const FAST_MS = 10
const CONCURRENCY = 8 // with FAST_MS, at most ~800 records a second: a run does not reach the end before its kill
const OLD_MS = 2_000 // a record that ended this long before a kill had ~20 commit intervals to be named
const SESSION_TIMEOUT = 6_000 // the broker's minimum: a killed member leaves the group this fast

interface Tally {
  /** Starts of records that had ended in an earlier run. */
  reprocessed: number
  /** Of those, records that had ended before a commit their run saw acknowledged. */
  behindCommit: number
  /** Of those, records that had ended more than OLD_MS before their run was killed. */
  endedLongBefore: number
  ended: number
  maxMetadataBytes: number
}

describe('integration: offset map under SIGKILL (measure)', function () {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!().catch(() => undefined)
  })

  it(`${KILLS} SIGKILLs with slow keys: finished records run again, without vs with the map`, async function () {
    this.timeout(20 * 60_000)
    const seed = testSeed()
    const kafka = testKafka('map-crash')
    const { admin, producer } = await connectClients(kafka, cleanup)
    const tallies: Record<string, Tally> = {}
    for (const withMap of [false, true]) {
      const rnd = seededRandom(seed)
      const topic = await createTopic('map-crash', PARTITIONS)
      const groupId = uniqueName('map-crash-group')
      for (let sent = 0; sent < RECORDS; sent += 500) {
        await producer.send({
          topic,
          messages: Array.from({ length: 500 }, (_, i) => ({
            key: (sent + i) % SLOW_EVERY === 0 ? `slow${(sent + i) % 3}` : `k${(sent + i) % 97}`,
            value: String(sent + i),
          })),
        })
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-rx-map-crash-'))
      cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }))
      const ended = new Set<string>()
      // Ended before a commit of their run was sent, and it was acknowledged: that commit's map names them.
      const endedBeforeCommit = new Set<string>()
      const tally: Tally = { reprocessed: 0, behindCommit: 0, endedLongBefore: 0, ended: 0, maxMetadataBytes: 0 }
      const endedLongBefore = new Set<string>()
      for (let run = 0; run <= KILLS; run++) {
        const logFile = path.join(dir, `run-${run}.log`)
        fs.writeFileSync(logFile, '')
        const config: MapCrashConfig = { topic, groupId, logFile, withMap, slowMs: SLOW_MS, fastMs: FAST_MS, concurrency: CONCURRENCY, sessionTimeout: SESSION_TIMEOUT }
        const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'map-crash-consumer.js'), JSON.stringify(config)], {
          stdio: ['ignore', 'ignore', 'inherit'],
        })
        cleanup.push(async () => void child.kill('SIGKILL'))
        const lines = (): string[] => fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
        const endedIds = (): string[] => lines().filter((l) => l.startsWith('e ')).map((l) => l.split(' ').slice(1, 3).join(' '))
        const last = run === KILLS
        // Killed at a random point 1.5 to 4 s after its first record ended (the last run goes to the end).
        const killAfterMs = randomInt(rnd, 1_500, 4_000)
        await waitFor(
          () => (last ? new Set([...ended, ...endedIds()]).size >= RECORDS : endedIds().length > 0),
          `run ${run}: ${last ? 'every record ended' : 'a record ended'}`,
          10 * 60_000,
        )
        if (!last) await sleep(killAfterMs)
        const killedAt = Date.now()
        child.kill('SIGKILL')
        await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)))
        for (const line of lines()) {
          const [kind, partition, offset] = line.split(' ')
          const id = `${partition} ${offset}`
          if (kind === 's' && ended.has(id)) tally.reprocessed++
          if (kind === 's' && endedBeforeCommit.has(id)) tally.behindCommit++
          if (kind === 's' && endedLongBefore.has(id)) tally.endedLongBefore++
        }
        // Commits are sent one at a time: ended before a 'cs' (the map is taken when sent), covered at its 'c'.
        let pending: string[] = []
        let sending: string[] = []
        for (const line of lines()) {
          if (line.startsWith('e ')) {
            const [, partition, offset, ms] = line.split(' ')
            const id = `${partition} ${offset}`
            ended.add(id)
            pending.push(id)
            if (Number(ms) < killedAt - OLD_MS) endedLongBefore.add(id)
          } else if (line === 'cs') {
            sending = pending
            pending = []
          } else if (line === 'c') {
            for (const id of sending) endedBeforeCommit.add(id)
            sending = []
          }
        }
        for (const line of lines()) if (line.startsWith('err')) throw new Error(`run ${run}: ${line}`)
        const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? []
        for (const p of committed) tally.maxMetadataBytes = Math.max(tally.maxMetadataBytes, Buffer.byteLength(p.metadata ?? ''))
        // The next member joins once the group dropped this one (sessionTimeout).
        if (!last) await sleep(500)
      }
      tally.ended = ended.size
      tallies[withMap ? 'with map' : 'without map'] = tally
      expect(ended.size).to.equal(RECORDS) // nothing lost
    }
    for (const [name, t] of Object.entries(tallies)) {
      console.log(`      ${name}: ${KILLS} SIGKILLs, ${t.reprocessed} starts of records that had ended (${t.endedLongBefore} ended over ${OLD_MS} ms before the kill, ${t.behindCommit} before an acknowledged commit); metadata at most ${t.maxMetadataBytes} of 4096 bytes`)
    }
    expect(tallies['without map']!.endedLongBefore).to.be.greaterThan(0)
    // The goal while the map fits the budget: no record named by an acknowledged commit's map runs again.
    expect(tallies['with map']!.maxMetadataBytes).to.be.below(4096)
    expect(tallies['with map']!.behindCommit).to.equal(0)
  })
})
