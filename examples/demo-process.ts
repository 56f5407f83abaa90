/**
 * The demo's process plumbing: signals, the local broker's life, and kafkajs's logs.
 */
import * as fs from 'node:fs'
import type { LogEntry } from 'kafkajs'
import { ensureKafka, type LocalKafka } from '../lib/testing/kafka-broker'
import { duration } from './demo-display'

/**
 * The broker `KAFKA_BROKERS` names, or else a local one started now (its jars fetched from Maven Central on
 * the first run), saying which. A local broker is killed on any exit of this process ({@link killOnExit}).
 *
 * @example
 * const broker = await startBroker(process.stdout)
 * // ...
 * await stopBroker(broker, process.stdout)
 */
export async function startBroker(out: NodeJS.WritableStream): Promise<LocalKafka> {
  const external = (process.env.KAFKA_BROKERS ?? '').trim() !== ''
  out.write((external
    ? `Using the Kafka broker at ${process.env.KAFKA_BROKERS} (KAFKA_BROKERS).`
    : 'Starting a local Kafka broker (the first run fetches its jars from Maven Central, ~45 MB)...') + '\n')
  const started = Date.now()
  // detached: the broker gets its own process group, so a Ctrl-C in the terminal reaches only this process,
  // which then shuts the pipeline down first and stops the broker last. killOnExit covers a crash.
  const broker = await ensureKafka({ detached: true })
  killOnExit(broker)
  if (!external) out.write(`Kafka ${broker.version} ready at ${broker.brokers.join(',')} in ${duration(Date.now() - started)}.\n`)
  return broker
}

/**
 * Stops a broker this process started (a no-op for an external one, or one already stopped), saying so.
 *
 * @example
 * await stopBroker(broker, process.stdout)
 */
export async function stopBroker(broker: LocalKafka, out: NodeJS.WritableStream): Promise<void> {
  if (broker.pid === undefined || stopping.has(broker)) return
  stopping.add(broker)
  const started = Date.now()
  out.write('Stopping the local Kafka broker... ')
  await broker.stop()
  stopped.add(broker)
  out.write(`done in ${duration(Date.now() - started)}.\n`)
}
const stopping = new WeakSet<LocalKafka>()
// Only a broker known to be gone is spared by the exit hook (one still stopping is killed there).
const stopped = new WeakSet<LocalKafka>()

/**
 * A detached broker is not killed with this process by the harness: kill it on any exit (even a crash or
 * `process.exit`), and delete its temporary data directory, unless `stopBroker` stopped it already.
 *
 * @example
 * const broker = await ensureKafka({ detached: true })
 * killOnExit(broker)
 */
export function killOnExit(broker: LocalKafka): void {
  if (broker.pid === undefined) return
  process.once('exit', () => {
    if (stopped.has(broker)) return
    try {
      process.kill(broker.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
    // Ours to delete: ensureKafka made it because we gave no dataDir. ('exit' handlers must be synchronous.)
    if (broker.dataDir !== undefined) fs.rmSync(broker.dataDir, { recursive: true, force: true })
  })
}

/**
 * kafkajs's log entries (at the level the client asks for), kept out of the live display: counted, and the
 * last few shown in the summary.
 *
 * @example
 * const logs = new KafkaLogs()
 * new Kafka({ brokers, logLevel: logLevel.ERROR, logCreator: logs.creator })
 */
export class KafkaLogs {
  count = 0
  readonly last: string[] = []
  readonly creator = () => ({ namespace, log }: LogEntry): void => {
    this.count++
    this.last.push(`[${namespace}] ${log.message}`)
    if (this.last.length > 3) this.last.splice(0, 1)
  }
}

/**
 * SIGINT, SIGTERM and SIGHUP: the first asks for a graceful stop, a second one (a moment later) quits at once.
 *
 * @example
 * const interrupt = new Interrupt(() => console.log('stopping...'))
 * interrupt.onRequest(() => subscription.unsubscribe())
 */
export class Interrupt {
  #signal: NodeJS.Signals | undefined
  readonly #notice: () => void
  readonly #callbacks: (() => void)[] = []
  #at = 0
  readonly #handler = (signal: NodeJS.Signals): void => {
    if (this.#signal !== undefined) {
      // One Ctrl-C can arrive twice (the terminal signals the whole process group, and `npm run` forwards
      // it too): only a second press, a moment later, quits at once (the exit hook kills the broker).
      if (Date.now() - this.#at > REPEAT_MS) process.exit(this.exitCode)
      return
    }
    this.#signal = signal
    this.#at = Date.now()
    this.#notice()
    for (const callback of this.#callbacks.splice(0)) callback()
  }

  /** @param notice Called once, on the first signal (to tell the user what happens now). */
  constructor(notice: () => void) {
    this.#notice = notice
    for (const signal of SIGNALS) process.on(signal, this.#handler)
  }

  get requested(): boolean {
    return this.#signal !== undefined
  }

  /** 128 + the signal number, as a shell reports a process killed by it. */
  get exitCode(): number {
    return this.#signal === 'SIGHUP' ? 129 : this.#signal === 'SIGTERM' ? 143 : 130
  }

  onRequest(callback: () => void): void {
    if (this.requested) callback()
    else this.#callbacks.push(callback)
  }

  dispose(): void {
    for (const signal of SIGNALS) process.removeListener(signal, this.#handler)
  }
}
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const REPEAT_MS = 1_000
