/**
 * The JVM reference of the kafka benchmark: builds bench/parallel-consumer with Maven (once; jars come from
 * Maven Central into the local Maven repository, the build output goes to its gitignored target/) and runs
 * it as a child process that prints one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { CaseResult } from './cases'

/** Where the Maven project lives (this file runs from dist/bench/kafka/). */
const PROJECT = path.resolve(__dirname, '..', '..', '..', 'bench', 'parallel-consumer')

/** What the Parallel Consumer run is asked to do. */
export interface JvmCaseSpec {
  brokers: string[]
  topic: string
  groupId: string
  records: number
  workMs: number
  concurrency: number
  timeoutMs: number
  /**
   * 'work' (default): `parallel_consumer_work`, the user function sleeping `workMs` per record.
   * 'ctp-eos': `parallel_consumer_ctp_eos`, each record copied to the topic `<groupId>-out` (made by the
   * caller) with PC's transactional commit mode, done once the group committed every record.
   */
  mode?: 'work' | 'ctp-eos'
}

/**
 * Builds the Parallel Consumer program unless its jar is newer than its sources and pom; returns the
 * class path. Throws with Maven's output when the build fails.
 *
 * @example
 * const classpath = buildParallelConsumer()
 */
export function buildParallelConsumer(): string {
  const jar = path.join(PROJECT, 'target', 'parallel-consumer-bench-0.0.0.jar')
  const lib = path.join(PROJECT, 'target', 'lib')
  const sources = [path.join(PROJECT, 'pom.xml'), path.join(PROJECT, 'src', 'main', 'java', 'kafkarx', 'bench', 'ParallelConsumerBench.java')]
  const built = fs.existsSync(jar) && fs.existsSync(lib) && sources.every((s) => fs.statSync(s).mtimeMs < fs.statSync(jar).mtimeMs)
  if (!built) {
    const mvn = spawnSync('mvn', ['-q', '-B', '-Dstyle.color=never', 'package'], { cwd: PROJECT, encoding: 'utf8' })
    if (mvn.error !== undefined) throw new Error(`cannot run mvn (needed for the Parallel Consumer case; --no-jvm skips it): ${mvn.error.message}`)
    if (mvn.status !== 0) throw new Error(`mvn package failed in ${PROJECT}:\n${(mvn.stdout + mvn.stderr).slice(-4000)}`)
  }
  return [jar, path.join(lib, '*')].join(path.delimiter)
}

/**
 * Runs Confluent Parallel Consumer (KEY ordering, `concurrency` threads, `workMs` of Thread.sleep per record)
 * over the topic with its own group, and resolves with its figures (lag checked by the caller); with
 * `mode: 'ctp-eos'` its transactional consume-transform-produce instead (see {@link JvmCaseSpec.mode}).
 *
 * @example
 * const pc = await runParallelConsumer(buildParallelConsumer(), { brokers, topic, groupId: 'pc', records: 200_000, workMs: 2, concurrency: 512, timeoutMs: 120_000 })
 */
export async function runParallelConsumer(classpath: string, spec: JvmCaseSpec, jvmArgs: string[] = []): Promise<CaseResult> {
  const args = [
    ...jvmArgs, '-cp', classpath, 'kafkarx.bench.ParallelConsumerBench',
    spec.brokers.join(','), spec.topic, spec.groupId, String(spec.records), String(spec.workMs), String(spec.concurrency),
    String(Math.ceil(spec.timeoutMs / 1000)), spec.mode ?? 'work',
  ]
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)))
    child.on('error', reject)
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }))
  })
  const line = stdout.trim().split('\n').pop() ?? ''
  let parsed: { records: number; finished: boolean; ms: number; records_per_s: number; peak_rss_mib: number }
  try {
    parsed = JSON.parse(line) as typeof parsed
  } catch {
    throw new Error(`Parallel Consumer run failed (exit ${String(code)}):\n${stdout.slice(-2000)}\n${stderr}`)
  }
  if (!parsed.finished) throw new Error(`Parallel Consumer: ${parsed.records} of ${spec.records} records in ${spec.timeoutMs} ms`)
  return {
    name: spec.mode === 'ctp-eos' ? 'parallel_consumer_ctp_eos' : 'parallel_consumer_work',
    records: parsed.records,
    ms: parsed.ms,
    records_per_s: parsed.records_per_s,
    cpu_us_per_record: null, // not measured for the JVM's window
    each_batch_us_per_record: null,
    peak_rss_mib: parsed.peak_rss_mib,
    bytes_per_record: null,
    fetched_mib: null,
    sampled: false,
    closed: true,
    lag: null,
  }
}
