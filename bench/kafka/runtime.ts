/**
 * Which bench cases this Node can run. `@platformatic/kafka` asks for Node >= 22.22 (it calls
 * `Promise.withResolvers`), so its cases run only when the suite itself runs on such a Node (CI's second pass,
 * or `PATH=<node 24>/bin:$PATH npm run bench -- kafka`); on older Node they are skipped with this reason,
 * printed and kept in the report. Every case of one run thus runs on the same Node, so a ratio between two
 * clients compares the clients, not the runtimes.
 */

/** The clients a bench case can consume with. */
export type BenchClient = 'kafkajs' | 'platformatic'

/** The lowest Node `@platformatic/kafka` 2.x runs on (its engines field: `>= 22.22.0 || >= 24.6.0`). */
export const PLATFORMATIC_MIN_NODE: readonly [number, number] = [22, 22]

/**
 * Why `client`'s cases cannot run on the Node `version` (e.g. `process.versions.node`), or undefined when
 * they can.
 *
 * @example
 * clientSkipReason('platformatic', '20.19.0') // '@platformatic/kafka needs Node >= 22.22; this is Node 20.19.0 ...'
 */
export function clientSkipReason(client: BenchClient, version: string = process.versions.node): string | undefined {
  if (client === 'kafkajs') return undefined
  const [major = 0, minor = 0] = version.split('.').map(Number)
  const [needMajor, needMinor] = PLATFORMATIC_MIN_NODE
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined
  return `@platformatic/kafka needs Node >= ${needMajor}.${needMinor}; this is Node ${version} (run the suite on Node 24 to include its cases)`
}
