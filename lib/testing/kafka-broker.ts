/**
 * A real, single-node Kafka broker for tests, run from the Maven Central jars (no Docker).
 *
 * The jars are fetched once with Maven (`scripts/kafka/pom.xml`) into a cache outside the repository:
 * `$KAFKA_RX_CACHE/kafka-rx`, else `$XDG_CACHE_HOME/kafka-rx`, else `~/.cache/kafka-rx`, one folder per
 * version (`kafka-<version>/libs`, complete once `kafka-<version>/complete.json` exists). Every start then
 * formats a fresh KRaft data directory and runs one combined broker+controller on two free 127.0.0.1 ports.
 *
 * Needs `java` (17+) on the PATH, and `mvn` the first time a version is used.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { Kafka, logLevel } from 'kafkajs'

/**
 * The broker version used when neither the caller nor `KAFKA_VERSION` names one.
 *
 * 4.1.1, because kafkajs 2.2.4 works with it for everything kafka-rx does: KIP-896 (Kafka 4.0 dropped old
 * protocol versions) kept the versions KafkaJS sends. The smoke test (spec/integration/broker.spec.ts) checks
 * this on every run; `scripts/test-kafka-versions.sh` runs the suite against 3.9.1 as well.
 */
export const DEFAULT_KAFKA_VERSION = '4.1.1'

/** Options of {@link startKafka}. */
export interface StartKafkaOptions {
  /** Kafka version (3.3 or newer, KRaft). Default: env `KAFKA_VERSION`, else {@link DEFAULT_KAFKA_VERSION}. */
  version?: string
  /**
   * Where the broker keeps its data, config and log (`broker.log`). Default: a fresh temporary directory,
   * deleted by `stop()`. A given directory is kept, and reused by the next start (topics survive).
   */
  dataDir?: string
  /**
   * `'quiet'` (default): print nothing unless something fails. `'inherit'`: print progress (fetching jars,
   * Maven's output, where the broker listens and logs) on stderr. The broker's own log always goes to
   * `<dataDir>/broker.log`, never to the console.
   */
  log?: 'quiet' | 'inherit'
  /**
   * Keep the broker running after this process exits (the `kafka:start` CLI). Default false: the broker is
   * killed when this process exits, even when a test fails or the run is interrupted.
   */
  detached?: boolean
  /** How long to wait for the broker to accept clients. Default 90 s (a cold JVM on 2 busy cores is slow). */
  readyTimeoutMs?: number
  /**
   * JVM tuning flags. Default: env `KAFKA_RX_JVM_OPTS` (split on spaces), else a heap of 1 GB, the serial GC
   * and the C1 compiler only, which start the broker noticeably faster on small machines; pass `[]` to
   * benchmark against a JVM as Kafka's own scripts tune it.
   */
  jvmArgs?: string[]
}

/** A running broker, or the external one named by `KAFKA_BROKERS`. */
export interface LocalKafka {
  /** Bootstrap addresses, `host:port`, for kafkajs's `brokers` option. */
  readonly brokers: string[]
  /** The Kafka version (`'external'` for `KAFKA_BROKERS` without `KAFKA_VERSION`). */
  readonly version: string
  /** The broker's data directory (undefined for an external broker). */
  readonly dataDir?: string
  /** The broker's log file (undefined for an external broker). */
  readonly logFile?: string
  /** The broker's process id (undefined for an external broker). */
  readonly pid?: number
  /** Stops the broker: SIGTERM, then SIGKILL if it lingers. Idempotent; a no-op for an external broker. */
  stop(): Promise<void>
}

const READY_LINE = 'Kafka Server started'
const DEFAULT_JVM_ARGS = ['-Xmx1g', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']
const STOP_GRACE_MS = 20_000

/**
 * The folder holding the cached broker jars: `$KAFKA_RX_CACHE/kafka-rx`, else `$XDG_CACHE_HOME/kafka-rx`,
 * else `~/.cache/kafka-rx`.
 *
 * @example
 * fs.rmSync(kafkaCacheDir(), { recursive: true, force: true }) // force a fresh download
 */
export function kafkaCacheDir(): string {
  const base = process.env.KAFKA_RX_CACHE || process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(base, 'kafka-rx')
}

/**
 * Makes sure the jars of one Kafka version are in the cache, fetching them with Maven when they are not,
 * and returns the folder holding them. Safe to run from several processes at once: each downloads into its
 * own folder, which is renamed into place, and the marker file is written last.
 *
 * @example
 * const libs = await fetchKafka('3.9.1', { log: 'inherit' }) // ~/.cache/kafka-rx/kafka-3.9.1/libs
 */
export async function fetchKafka(
  version: string = defaultVersion(),
  options: { log?: 'quiet' | 'inherit' } = {},
): Promise<string> {
  const major = majorOf(version)
  const home = path.join(kafkaCacheDir(), `kafka-${version}`)
  const libs = path.join(home, 'libs')
  const marker = path.join(home, 'complete.json')
  if (isComplete(libs, marker)) return libs

  const say = options.log === 'inherit' ? (line: string) => process.stderr.write(`kafka-rx: ${line}\n`) : () => {}
  const pom = findPom()
  const staging = path.join(home, `libs.${process.pid}.${randomBytes(4).toString('hex')}`)
  fs.mkdirSync(home, { recursive: true })
  say(`fetching Kafka ${version} jars from Maven Central into ${libs}`)
  const args = [
    '-q', '-B', '-Dstyle.color=never', '-f', pom,
    `-Dkafka.version=${version}`, `-P${major >= 4 ? 'kafka4' : 'kafka3'}`,
    'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`,
  ]
  try {
    const { code, output } = await run('mvn', args, options.log === 'inherit')
    if (code !== 0) {
      throw new Error(`mvn failed (exit ${code}) fetching Kafka ${version}:\n${tail(output, 40)}`)
    }
    const jars = fs.readdirSync(staging).filter(name => name.endsWith('.jar')).sort()
    if (!jars.includes(`kafka_2.13-${version}.jar`)) {
      throw new Error(`mvn ran but ${staging} has no kafka_2.13-${version}.jar`)
    }
    if (isComplete(libs, marker)) return libs // another process finished first
    fs.rmSync(libs, { recursive: true, force: true })
    fs.renameSync(staging, libs)
    writeFileAtomic(marker, JSON.stringify({ version, jars, fetchedAt: new Date().toISOString() }, null, 2))
    say(`fetched ${jars.length} jars`)
    return libs
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

/**
 * Starts a single-node KRaft broker (combined broker and controller) on two free 127.0.0.1 ports and
 * resolves once a kafkajs admin client can list topics and find a group coordinator. Fetches the jars first
 * if needed. The broker is killed when this process exits unless `detached` is set; call `stop()` anyway.
 *
 * Topic auto-creation is off: tests create their topics with the partitions they mean, and a misspelt topic
 * fails instead of silently becoming a new one-partition topic.
 *
 * @example
 * const kafka = await startKafka({ version: '3.9.1' })
 * try {
 *   const client = new Kafka({ brokers: kafka.brokers })
 *   // ...
 * } finally {
 *   await kafka.stop()
 * }
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<LocalKafka> {
  const version = options.version ?? defaultVersion()
  const say = options.log === 'inherit' ? (line: string) => process.stderr.write(`kafka-rx: ${line}\n`) : () => {}
  const libs = await fetchKafka(version, { log: options.log })
  const temporary = options.dataDir === undefined
  const dataDir = path.resolve(options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-rx-broker-')))
  const jvmArgs = options.jvmArgs ?? jvmArgsFromEnv() ?? DEFAULT_JVM_ARGS
  const started = Date.now()
  try {
    fs.mkdirSync(dataDir, { recursive: true })
    const logConfig = writeLogConfig(dataDir, version)
    const java = [...jvmArgs, '-Djava.awt.headless=true', logConfig, '-cp', path.join(libs, '*')]
    const cds = classDataSharing(libs, options.detached === true)
    // Ports are only reserved until we release them, so another process may take one before the broker
    // binds it: then the broker dies with a BindException and we try again with new ports.
    for (let attempt = 1; ; attempt++) {
      const [port, controllerPort] = await freePorts(2)
      const config = path.join(dataDir, 'server.properties')
      fs.writeFileSync(config, serverProperties({ version, port, controllerPort, logDirs: path.join(dataDir, 'kraft') }))
      await format([...java, ...cds.use], config, clusterIdOf(dataDir), dataDir)
      const logFile = path.join(dataDir, 'broker.log')
      const child = launch([...java, ...cds.use, ...cds.create], config, logFile, options.detached === true)
      const broker: Running = { child, dataDir, temporary, detached: options.detached === true }
      if (!broker.detached) track(broker)
      const brokers = [`127.0.0.1:${port}`]
      try {
        await waitUntilReady(child, logFile, brokers, options.readyTimeoutMs ?? 90_000)
      } catch (error) {
        await terminate(child)
        untrack(broker)
        cds.finish(false)
        if (attempt < 3 && /BindException|Address already in use/.test(readTail(logFile))) continue
        throw error
      }
      cds.checkUsed(logFile)
      say(`Kafka ${version} ready at ${brokers[0]} in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${logFile})`)
      let stopping: Promise<void> | undefined
      return {
        brokers,
        version,
        dataDir,
        logFile,
        pid: child.pid,
        stop: () => (stopping ??= (async () => {
          const graceful = await terminate(child)
          untrack(broker)
          cds.finish(graceful)
          if (temporary) fs.rmSync(dataDir, { recursive: true, force: true })
        })()),
      }
    }
  } catch (error) {
    if (temporary) fs.rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

/**
 * The broker for tests: the one named by env `KAFKA_BROKERS` (comma-separated `host:port`; `stop()` does
 * nothing), else a new local broker of version env `KAFKA_VERSION` or {@link DEFAULT_KAFKA_VERSION}.
 *
 * @example
 * const kafka = await ensureKafka()
 * process.env.KAFKA_BROKERS = kafka.brokers.join(',')
 */
export async function ensureKafka(options: Omit<StartKafkaOptions, 'version'> = {}): Promise<LocalKafka> {
  const external = (process.env.KAFKA_BROKERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (external.length > 0) {
    return { brokers: external, version: process.env.KAFKA_VERSION || 'external', stop: async () => {} }
  }
  return startKafka(options)
}

// ---- configuration ----------------------------------------------------------------------------------------

function defaultVersion(): string {
  return process.env.KAFKA_VERSION || DEFAULT_KAFKA_VERSION
}

function majorOf(version: string): number {
  const match = /^(\d+)\.(\d+)/.exec(version)
  if (!match) throw new Error(`not a Kafka version: ${JSON.stringify(version)}`)
  const [major, minor] = [Number(match[1]), Number(match[2])]
  if (major < 3 || (major === 3 && minor < 3)) {
    throw new Error(`Kafka ${version} is too old: the local broker runs in KRaft combined mode (3.3+)`)
  }
  return major
}

function jvmArgsFromEnv(): string[] | undefined {
  const raw = process.env.KAFKA_RX_JVM_OPTS
  return raw === undefined ? undefined : raw.split(/\s+/).filter(Boolean)
}

function serverProperties(p: { version: string; port: number; controllerPort: number; logDirs: string }): string {
  const lines = [
    '# Written by kafka-rx lib/testing/kafka-broker.ts: one combined KRaft broker+controller for tests.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${p.logDirs}`,
    // One broker: every internal topic with one replica. One partition each, because creating the default
    // 50 partitions of __consumer_offsets delays the first group join by seconds.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'num.partitions=1',
    // Tests create their topics (see the JSDoc of startKafka).
    'auto.create.topics.enable=false',
    // The first member joins at once instead of after 3 s; tests may use short session timeouts.
    'group.initial.rebalance.delay.ms=0',
    'group.min.session.timeout.ms=1000',
    // Compaction tests (offset gaps) should not wait 15 s for the cleaner; it needs no 128 MB buffer here.
    'log.cleaner.backoff.ms=1000',
    'log.cleaner.dedupe.buffer.size=16777216',
    // Small machines: fewer threads than the server defaults.
    'num.network.threads=2',
    'num.io.threads=4',
    'background.threads=4',
  ]
  if (majorOf(p.version) >= 4) {
    lines.push(
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'share.coordinator.state.topic.num.partitions=1',
      // KIP-848 (the consumer group protocol, `groupProtocol: 'consumer'`) beside the classic one, said
      // explicitly; heartbeats of 1 s so that an assignment change reaches a member in about a second.
      'group.coordinator.rebalance.protocols=classic,consumer',
      'group.consumer.min.heartbeat.interval.ms=500',
      'group.consumer.heartbeat.interval.ms=1000',
    )
  }
  return lines.join('\n') + '\n'
}

/** Writes the logging config into the data dir and returns the JVM flag that selects it. */
function writeLogConfig(dataDir: string, version: string): string {
  // Everything goes to stdout, which launch() sends to broker.log: one file, also holding JVM crash output.
  if (majorOf(version) >= 4) {
    const file = path.join(dataDir, 'log4j2.properties')
    fs.writeFileSync(file, [
      'rootLogger.level=INFO',
      'rootLogger.appenderRef.stdout.ref=STDOUT',
      'appender.stdout.type=Console',
      'appender.stdout.name=STDOUT',
      'appender.stdout.layout.type=PatternLayout',
      'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
      'logger.request.name=kafka.request.logger',
      'logger.request.level=WARN',
      '',
    ].join('\n'))
    return `-Dlog4j2.configurationFile=${file}`
  }
  const file = path.join(dataDir, 'log4j.properties')
  fs.writeFileSync(file, [
    'log4j.rootLogger=INFO, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.request.logger=WARN',
    '',
  ].join('\n'))
  return `-Dlog4j.configuration=file:${file}`
}

/** The data dir's cluster id: kept in a file so that a reused data dir is not formatted for another one. */
function clusterIdOf(dataDir: string): string {
  const file = path.join(dataDir, 'cluster.id')
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  let id: string
  // Kafka's ids are 16 bytes in URL-safe base64; one starting with '-' would read as a CLI flag.
  do id = randomBytes(16).toString('base64url')
  while (id.startsWith('-'))
  fs.writeFileSync(file, id + '\n')
  return id
}

function findPom(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pom = path.join(dir, 'scripts', 'kafka', 'pom.xml')
    if (fs.existsSync(pom)) return pom
    if (path.dirname(dir) === dir) {
      throw new Error(`scripts/kafka/pom.xml not found above ${__dirname}: fetch the Kafka jars from a kafka-rx checkout`)
    }
  }
}

function isComplete(libs: string, marker: string): boolean {
  try {
    const { jars } = JSON.parse(fs.readFileSync(marker, 'utf8')) as { jars: string[] }
    return jars.length > 0 && jars.every(jar => fs.existsSync(path.join(libs, jar)))
  } catch {
    return false
  }
}

function writeFileAtomic(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temp, text)
  fs.renameSync(temp, file)
}

/**
 * Class data sharing: a JVM archive of the classes the broker loads, which roughly halves the time the JVM
 * takes to start it (measured on 2 busy cores: ~8.5 s -> ~4.5 s from spawn to ready). The first broker of a
 * version runs with -XX:ArchiveClassesAtExit and leaves the archive when it stops gracefully; later runs
 * (and the format step) load it. The archive's name holds the JDK's identity and the jar download, and an
 * archive the JVM refuses (it says so in the log and carries on without) is deleted, to be made again.
 * `KAFKA_RX_CDS=0` turns this off.
 */
function classDataSharing(libs: string, detached: boolean): {
  /** JVM flags that load the archive. */
  use: string[]
  /** JVM flags that write one when the broker exits. */
  create: string[]
  checkUsed(logFile: string): void
  /** After the broker exited: keep the archive it wrote if it shut down gracefully, else drop it. */
  finish(graceful: boolean): void
} {
  const none = { use: [], create: [], checkUsed: () => {}, finish: () => {} }
  const jdk = jdkIdentity()
  if (process.env.KAFKA_RX_CDS === '0' || jdk === undefined) return none
  let download: string
  try {
    download = fs.readFileSync(path.join(path.dirname(libs), 'complete.json'), 'utf8')
  } catch {
    return none
  }
  const dir = path.join(path.dirname(libs), 'cds')
  const archive = path.join(dir, `${createHash('sha256').update(`${jdk}\0${download}`).digest('hex').slice(0, 16)}.jsa`)
  if (fs.existsSync(archive)) {
    return {
      use: [`-XX:SharedArchiveFile=${archive}`],
      create: [],
      checkUsed: logFile => {
        if (/Unable to use shared archive/.test(readHead(logFile))) fs.rmSync(archive, { force: true })
      },
      finish: () => {},
    }
  }
  // Made only by a broker this process stops itself (a detached one is stopped by another process).
  if (detached) return none
  const partial = `${archive}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  fs.mkdirSync(dir, { recursive: true })
  return {
    use: [],
    create: [`-XX:ArchiveClassesAtExit=${partial}`],
    checkUsed: () => {},
    finish: graceful => {
      try {
        if (graceful && fs.statSync(partial).size > 0) {
          // Archives of an older JDK or download, and leftovers of brokers killed while writing one.
          const hourAgo = Date.now() - 3_600_000
          for (const name of fs.readdirSync(dir)) {
            const file = path.join(dir, name)
            const stale = name.endsWith('.tmp') && (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < hourAgo
            if (name.endsWith('.jsa') || stale) fs.rmSync(file, { force: true })
          }
          fs.renameSync(partial, archive)
        }
      } catch {
        // no archive written: the next run tries again
      } finally {
        fs.rmSync(partial, { force: true })
      }
    },
  }
}

/** The `java` on the PATH, identified by its real path and its module image (which a JDK update changes). */
function jdkIdentity(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      const java = fs.realpathSync(path.join(dir, 'java'))
      const modules = fs.statSync(path.join(path.dirname(path.dirname(java)), 'lib', 'modules'))
      return `${java}\0${modules.size}\0${modules.mtimeMs}`
    } catch {
      // not here
    }
  }
  return undefined
}

// ---- processes --------------------------------------------------------------------------------------------

interface Running {
  readonly child: ChildProcess
  readonly dataDir: string
  readonly temporary: boolean
  readonly detached: boolean
}

/** Brokers that must die with this process. */
const live = new Set<Running>()
let exitHooksInstalled = false

function track(broker: Running): void {
  live.add(broker)
  if (exitHooksInstalled) return
  exitHooksInstalled = true
  // 'exit' handlers must be synchronous: SIGKILL (a graceful stop cannot be awaited here) and delete.
  process.on('exit', killAllNow)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow()
      // Node does not exit on a signal that has a listener: if ours is the only one, die as Node would have.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal)
        process.kill(process.pid, signal)
      }
    }
    process.on(signal, onSignal)
  }
}

function untrack(broker: Running): void {
  live.delete(broker)
}

function killAllNow(): void {
  for (const broker of live) {
    if (broker.child.exitCode === null && broker.child.signalCode === null) broker.child.kill('SIGKILL')
    if (broker.temporary) fs.rmSync(broker.dataDir, { recursive: true, force: true })
  }
  live.clear()
}

function launch(java: string[], config: string, logFile: string, detached: boolean): ChildProcess {
  // Truncated: the readiness wait must not see the ready line of an earlier run in a reused data dir.
  const out = fs.openSync(logFile, 'w')
  try {
    const child = spawn('java', [...java, 'kafka.Kafka', config], { stdio: ['ignore', out, out], detached })
    // Not keeping this process alive for the broker's sake: the exit hooks kill it if nobody calls stop().
    child.unref()
    child.on('error', () => {}) // reported through 'exit' / the readiness wait
    return child
  } finally {
    fs.closeSync(out)
  }
}

async function format(java: string[], config: string, clusterId: string, dataDir: string): Promise<void> {
  // Controller voters are static (controller.quorum.voters), so no --standalone; --ignore-formatted makes a
  // reused data dir fine.
  const args = [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config, '--ignore-formatted']
  const { code, output } = await run('java', args, false)
  fs.writeFileSync(path.join(dataDir, 'format.log'), output)
  if (code !== 0) throw new Error(`formatting the Kafka data dir failed (exit ${code}):\n${tail(output, 30)}`)
}

async function waitUntilReady(child: ChildProcess, logFile: string, brokers: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const fail = (why: string): Error =>
    new Error(`Kafka broker ${why}. Last lines of ${logFile}:\n${tail(readTail(logFile), 40) || '(empty)'}`)
  let exit: string | undefined = child.exitCode !== null || child.signalCode !== null ? 'already' : undefined
  child.once('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`))
  child.once('error', error => (exit = `spawn error: ${error.message}`))

  let seen = 0
  let text = ''
  for (;;) {
    if (exit !== undefined) throw fail(`exited (${exit}) before it was ready`)
    if (Date.now() > deadline) throw fail(`was not ready after ${timeoutMs} ms`)
    const size = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0
    if (size > seen) {
      const fd = fs.openSync(logFile, 'r')
      const chunk = Buffer.alloc(size - seen)
      fs.readSync(fd, chunk, 0, chunk.length, seen)
      fs.closeSync(fd)
      seen = size
      // Keep a line's worth of the previous read: the marker may straddle two reads.
      text = text.slice(-READY_LINE.length) + chunk.toString('utf8')
      if (text.includes(READY_LINE)) break
    }
    await sleep(100)
  }

  // The log line means the sockets are up; also make sure kafkajs gets metadata and a group coordinator
  // (asking for one creates __consumer_offsets, which would otherwise slow down the first test's join).
  const admin = new Kafka({
    clientId: 'kafka-rx-ready-check',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  }).admin()
  try {
    await admin.connect()
    await admin.listTopics()
    await admin.describeGroups(['kafka-rx-ready-check'])
  } catch (error) {
    throw fail(`started but kafkajs could not use it: ${(error as Error).message}`)
  } finally {
    await admin.disconnect().catch(() => {})
  }
  if (exit !== undefined) throw fail(`exited (${exit}) right after starting`)
}

/**
 * SIGTERM, wait for a graceful shutdown, SIGKILL if it takes too long. Resolves true when the broker shut
 * down by itself after our SIGTERM (false when it had already exited, or had to be killed).
 */
async function terminate(child: ChildProcess): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return false
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  child.ref() // keep this process alive until the broker is gone
  child.kill('SIGTERM')
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    child.kill('SIGKILL')
  }, STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
  return !killed
}

function run(command: string, args: string[], echo: boolean): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const collect = (chunk: Buffer): void => {
      // Maven 3.8 prints colour resets even in batch mode.
      const text = chunk.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '')
      output += text
      if (echo) process.stderr.write(text)
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    child.on('error', error => {
      const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? ` (is ${command} installed and on the PATH?)` : ''
      reject(new Error(`could not run ${command}${hint}: ${error.message}`))
    })
    child.on('close', code => resolve({ code: code ?? 1, output }))
  })
}

async function freePorts(count: number): Promise<number[]> {
  // Hold all sockets open until every port is known, so the ports differ.
  const servers: net.Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve())
      })
    }
    return servers.map(server => (server.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map(server => new Promise<void>(resolve => server.close(() => resolve()))))
  }
}

function readTail(file: string, bytes = 64 * 1024): string {
  try {
    const size = fs.statSync(file).size
    const fd = fs.openSync(file, 'r')
    const buffer = Buffer.alloc(Math.min(bytes, size))
    fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length)
    fs.closeSync(fd)
    return buffer.toString('utf8')
  } catch {
    return '(no log)'
  }
}

function readHead(file: string, bytes = 16 * 1024): string {
  try {
    const fd = fs.openSync(file, 'r')
    const buffer = Buffer.alloc(bytes)
    const read = fs.readSync(fd, buffer, 0, bytes, 0)
    fs.closeSync(fd)
    return buffer.subarray(0, read).toString('utf8')
  } catch {
    return ''
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
