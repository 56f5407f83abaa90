// The docs are tests: every ```ts block of README.md and docs/*.md compiles against the packed package, under
// node16 and node10 resolution (scripts/check-docs.ts). Seen to fail: on the README before this check existed
// (96 errors: skip: orders.isStale inferring RecordOrigin, order.key of a DecodeFailure, top-level await,
// kafka-rx/testing unresolved under node10), and with package.json's typesVersions removed (TS2307 under node10).
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { docFiles, extractBlocks } from '../scripts/check-docs'

const root = join(__dirname, '..', '..')

describe('docs type-check', () => {
  it('extracts ```ts blocks with their line, and a <!-- prelude: --> just before a fence', () => {
    const md = ['# t', '```ts', 'const a = 1', '```', '```sh', 'npm test', '```', '<!-- prelude: declare const b: number -->', '```typescript', 'b', '```'].join('\n')
    expect(extractBlocks('x.md', md)).to.deep.equal([
      { file: 'x.md', line: 3, code: 'const a = 1', prelude: '' },
      { file: 'x.md', line: 10, code: 'b', prelude: 'declare const b: number' },
    ])
  })

  it('refuses a ```ts fence that is never closed, naming the file and line', () => {
    expect(() => extractBlocks('x.md', 'a\n```ts\nconst a = 1\n')).to.throw('x.md:2')
  })

  it('checks README.md and every docs/*.md page, without a list to keep', () => {
    const files = docFiles(root)
    expect(files[0]).to.equal('README.md')
    expect(files).to.include.members(['docs/publishing.md', 'docs/shutdown.md', 'docs/stats.md', 'docs/testing.md'])
  })

  it('every TypeScript block compiles against the packed package under node16 and node10', async function () {
    this.timeout(240_000)
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'dist', 'scripts', 'check-docs.js')], { cwd: root }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), output: `${stdout}${stderr}` })
      })
    })
    expect(output, output).to.match(/docs: [1-9]\d* TypeScript blocks/)
    expect(code, output).to.equal(0)
  })
})
