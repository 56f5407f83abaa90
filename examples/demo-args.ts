/**
 * Command-line flags of the demo, parsed by hand (no dependency for eight flags).
 */

/** What the demo runs; every field has a default, see {@link DEFAULT_DEMO_OPTIONS}. */
export interface DemoOptions {
  /** Order events produced to the input topic. */
  readonly records: number
  /** Distinct customers (record keys). */
  readonly keys: number
  /** Partitions of the input and output topics. */
  readonly partitions: number
  /** Mean simulated work per order in ms (each takes a random 0 to 2 x this). */
  readonly workMs: number
  /** Orders worked on at once, across customers (`groupByKeyConcat`'s `concurrency`). */
  readonly concurrency: number
  /** Records delivered and not yet finished (forwarded) before fetching pauses (`fromKafka`'s `maxInFlight`). */
  readonly maxInFlight: number
  /** Zipf exponent of the customer popularity: 0 is uniform, 1 is classic Zipf (a few very hot customers). */
  readonly skew: number
  /** After Ctrl-C, ms the records in flight may take to finish before the source gives up on them (`drainTimeout`). */
  readonly drainTimeoutMs: number
}

/** The defaults: sized so that the whole demo takes about a minute on a 2-core machine. */
export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  records: 200_000,
  keys: 5_000,
  partitions: 12,
  workMs: 1,
  concurrency: 512,
  maxInFlight: 10_000,
  skew: 0.8,
  drainTimeoutMs: 10_000,
}

/** The outcome of parsing: options to run with, or usage text to print (help or a mistake). */
export type ParsedArgs =
  | { readonly kind: 'run'; readonly options: DemoOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly text: string }

interface Flag {
  readonly name: string
  readonly field: keyof DemoOptions
  readonly what: string
  readonly integer: boolean
  readonly min: number
}

const FLAGS: readonly Flag[] = [
  { name: '--records', field: 'records', what: 'order events to produce', integer: true, min: 1 },
  { name: '--keys', field: 'keys', what: 'distinct customers (record keys)', integer: true, min: 1 },
  { name: '--partitions', field: 'partitions', what: 'partitions of the input and output topics', integer: true, min: 1 },
  { name: '--work-ms', field: 'workMs', what: 'mean simulated work per order, ms (random 0..2x)', integer: false, min: 0 },
  { name: '--concurrency', field: 'concurrency', what: 'orders worked on at once, across customers', integer: true, min: 1 },
  { name: '--max-in-flight', field: 'maxInFlight', what: 'records in flight before fetching pauses', integer: true, min: 1 },
  { name: '--skew', field: 'skew', what: 'Zipf exponent of customer popularity (0 = uniform)', integer: false, min: 0 },
  { name: '--drain-timeout-ms', field: 'drainTimeoutMs', what: 'after Ctrl-C, ms for records in flight to finish', integer: true, min: 0 },
]

/**
 * The usage text, with the defaults.
 *
 * @example
 * process.stdout.write(demoUsage())
 */
export function demoUsage(): string {
  // The flag column fits the longest flag and its <n>, plus two spaces.
  const width = Math.max(...FLAGS.map(f => `${f.name} <n>`.length)) + 2
  const rows = FLAGS.map(f => `  ${`${f.name} <n>`.padEnd(width)}${f.what} (default ${String(DEFAULT_DEMO_OPTIONS[f.field])})`)
  return [
    'Usage: npm run demo -- [flags]',
    '',
    'Produces skewed order events to a fresh topic and runs them through a kafka-rx pipeline (fromKafka ->',
    'groupByKeyConcat -> orderedMerge -> publish to an output topic -> commitOffsets), shows it live, and',
    'checks the outcome: nothing lost, per-customer order kept, zero lag at the end.',
    'Starts a local Kafka broker unless KAFKA_BROKERS (host:port,...) names one. Ctrl-C or SIGTERM stops',
    'gracefully (fetching stops, records in flight finish and are committed); a second Ctrl-C quits at once.',
    '',
    ...rows,
    `  ${'--help'.padEnd(width)}print this and exit`,
    '',
    'Exit code 0 when no record was lost, no per-key order was broken and the final lag is 0.',
    '',
  ].join('\n')
}

/**
 * Parses `process.argv.slice(2)`: `--flag value` or `--flag=value`, numbers may use `_` (`200_000`).
 *
 * @example
 * parseDemoArgs(['--records', '5000', '--work-ms=0.5'])
 * // { kind: 'run', options: { ...DEFAULT_DEMO_OPTIONS, records: 5000, workMs: 0.5 } }
 */
export function parseDemoArgs(argv: readonly string[]): ParsedArgs {
  const options: Record<string, number> = { ...DEFAULT_DEMO_OPTIONS }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') return { kind: 'help', text: demoUsage() }
    const eq = arg.indexOf('=')
    const name = eq >= 0 ? arg.slice(0, eq) : arg
    const flag = FLAGS.find(f => f.name === name)
    if (flag === undefined) return { kind: 'error', text: `demo: unknown argument ${JSON.stringify(arg)}\n\n${demoUsage()}` }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i]
    if (raw === undefined) return { kind: 'error', text: `demo: ${flag.name} needs a value\n\n${demoUsage()}` }
    const value = Number(raw.replace(/_/g, ''))
    const ok = raw.trim() !== '' && Number.isFinite(value) && value >= flag.min && (!flag.integer || Number.isSafeInteger(value))
    if (!ok) {
      const kind = flag.integer ? 'an integer' : 'a number'
      return { kind: 'error', text: `demo: ${flag.name} must be ${kind} >= ${flag.min}, got ${JSON.stringify(raw)}\n` }
    }
    options[flag.field] = value
  }
  return { kind: 'run', options: options as unknown as DemoOptions }
}
