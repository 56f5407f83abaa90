/**
 * A local Kafka broker that outlives the command, for running examples and tests by hand.
 *
 *   node dist/scripts/kafka.js start [--version 3.9.1]  start (detached), print KAFKA_BROKERS=127.0.0.1:<port>
 *   node dist/scripts/kafka.js status                   exit 0 and print the broker if one runs, else exit 1
 *   node dist/scripts/kafka.js stop                     stop it (SIGTERM, then SIGKILL after 20 s)
 *   node dist/scripts/kafka.js fetch [--version 3.9.1]  only download the jars into the cache
 *
 * `npm run kafka:start` / `kafka:stop` / `kafka:status` build first. State lives in `<repo>/.kafka/`
 * (state.json, and data/ with the broker's log in data/broker.log). Only the `KAFKA_BROKERS=...` line goes
 * to stdout, so `eval "$(node dist/scripts/kafka.js start)"` exports it; progress goes to stderr.
 * The version defaults to env `KAFKA_VERSION`, else the harness default (lib/testing/kafka-broker.ts).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { fetchKafka, startKafka } from '../lib/testing/kafka-broker'

/** What `start` leaves in `.kafka/state.json` for `status` and `stop`. */
interface BrokerState {
  pid: number
  brokers: string[]
  version: string
  dataDir: string
  logFile: string
  startedAt: string
}

const STOP_GRACE_MS = 20_000
const stateDir = path.join(repoRoot(), '.kafka')
const stateFile = path.join(stateDir, 'state.json')

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { version: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
  const [command] = positionals
  const version = values.version ?? (process.env.KAFKA_VERSION || undefined)
  switch (values.help ? 'help' : command) {
    case 'start': return start(version)
    case 'stop': return stop()
    case 'status': return status()
    case 'fetch':
      process.stdout.write(`${await fetchKafka(version, { log: 'inherit' })}\n`)
      return 0
    default:
      process.stderr.write('usage: node dist/scripts/kafka.js start|stop|status|fetch [--version <kafka version>]\n')
      return command === undefined || values.help ? 0 : 2
  }
}

async function start(version: string | undefined): Promise<number> {
  const running = readState()
  if (running && isOurBroker(running)) {
    if (version !== undefined && version !== running.version) {
      process.stderr.write(`kafka-rx: Kafka ${running.version} is already running (pid ${running.pid}); stop it first\n`)
      return 1
    }
    process.stderr.write(`kafka-rx: already running (pid ${running.pid}, Kafka ${running.version})\n`)
    process.stdout.write(`KAFKA_BROKERS=${running.brokers.join(',')}\n`)
    return 0
  }
  // A fresh data dir each start: tests assume an empty cluster.
  const dataDir = path.join(stateDir, 'data')
  fs.rmSync(dataDir, { recursive: true, force: true })
  fs.mkdirSync(stateDir, { recursive: true })
  const kafka = await startKafka({ version, dataDir, detached: true, log: 'inherit' })
  const state: BrokerState = {
    pid: kafka.pid!,
    brokers: kafka.brokers,
    version: kafka.version,
    dataDir,
    logFile: kafka.logFile!,
    startedAt: new Date().toISOString(),
  }
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n')
  process.stderr.write(`kafka-rx: started pid ${state.pid}; stop with: npm run kafka:stop\n`)
  process.stdout.write(`KAFKA_BROKERS=${state.brokers.join(',')}\n`)
  return 0
}

async function stop(): Promise<number> {
  const state = readState()
  if (!state) {
    process.stderr.write('kafka-rx: no broker was started (no .kafka/state.json)\n')
    return 0
  }
  if (isOurBroker(state)) {
    process.kill(state.pid, 'SIGTERM')
    const deadline = Date.now() + STOP_GRACE_MS
    while (isAlive(state.pid) && Date.now() < deadline) await sleep(100)
    if (isAlive(state.pid)) {
      process.stderr.write(`kafka-rx: pid ${state.pid} ignored SIGTERM for ${STOP_GRACE_MS / 1000} s, killing it\n`)
      process.kill(state.pid, 'SIGKILL')
      while (isAlive(state.pid)) await sleep(50)
    }
    process.stderr.write(`kafka-rx: stopped Kafka ${state.version} (pid ${state.pid}); its log: ${state.logFile}\n`)
  } else {
    process.stderr.write(`kafka-rx: the broker (pid ${state.pid}) was not running any more\n`)
  }
  fs.rmSync(stateFile, { force: true })
  return 0
}

function status(): number {
  const state = readState()
  if (state && isOurBroker(state)) {
    process.stdout.write(
      `running: Kafka ${state.version}, pid ${state.pid}, since ${state.startedAt}\n` +
        `KAFKA_BROKERS=${state.brokers.join(',')}\nlog: ${state.logFile}\n`,
    )
    return 0
  }
  process.stdout.write(state ? `not running (pid ${state.pid} is gone; log: ${state.logFile})\n` : 'not running\n')
  return 1
}

function readState(): BrokerState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as BrokerState
  } catch {
    return undefined
  }
}

/** The pid is alive and (where /proc tells) still the broker we started, not a recycled pid. */
function isOurBroker(state: BrokerState): boolean {
  if (!isAlive(state.pid)) return false
  try {
    const cmdline = fs.readFileSync(`/proc/${state.pid}/cmdline`, 'utf8')
    return cmdline.includes('kafka.Kafka') && cmdline.includes(state.dataDir)
  } catch {
    return true // no /proc (macOS): trust the pid
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A detached broker's parent (this CLI) is gone, and where nothing reaps orphans the dead broker stays a
  // zombie, which signal 0 still reaches.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) return process.cwd()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

main(process.argv.slice(2)).then(
  code => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`kafka-rx: ${error.message}\n`)
    process.exitCode = 1
  },
)
