/**
 * Type-checks every TypeScript block of README.md and docs/*.md against the built, packed package, as a user
 * who installed it would compile them: tsc strict, once under `module: node16` and once under
 * `moduleResolution: node10` (`module: commonjs`). Run by `npm test` (spec/docs-typecheck.spec.ts), or
 * `npm run build && node dist/scripts/check-docs.js`. Needs no network: the tarball is unpacked into a temporary
 * project whose other dependencies are symlinks to this repository's node_modules.
 *
 * Conventions for a docs page:
 * - A block fenced ```ts (or ```typescript) is checked; other fences (sh, text) are not.
 * - Each block is its own module: import what it uses from 'kafka-rx' / 'kafka-rx/testing' (or rxjs,
 *   kafkajs, node:*), no top-level await (wrap in `async function main()`): the project is CommonJS.
 * - Names a snippet uses without defining (`consumer`, `producer`, `orders`, `charge`, `log`...) are declared
 *   in scripts/docs-prelude.d.ts, one shared ambient prelude; a block that defines one itself shadows it.
 * - `<!-- prelude: TS code -->` on the line just before a fence is prepended to that block only (hidden from the
 *   reader), for a declaration only that block needs.
 *
 * `DOCS_TSC=/path/to/typescript/bin/tsc` checks with another compiler (the package's types need TS 5.4+, for
 * NoInfer).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** One fenced TypeScript block of a Markdown file. */
export interface DocBlock {
  file: string
  /** 1-based line of the first code line (just after the fence). */
  line: number
  code: string
  prelude: string
}

const FENCE = /^```(ts|typescript)\s*$/
const PRELUDE = /^<!--\s*prelude:([\s\S]*?)-->\s*$/

/** The TypeScript blocks of one Markdown text, in order. */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n')
  const blocks: DocBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i]!)) continue
    const prelude = i > 0 ? (PRELUDE.exec(lines[i - 1]!)?.[1]?.trim() ?? '') : ''
    const start = i + 1
    let end = start
    while (end < lines.length && !lines[end]!.startsWith('```')) end++
    if (end === lines.length) throw new Error(`${file}:${i + 1}: a \`\`\`ts fence is never closed`)
    blocks.push({ file, line: start + 1, code: lines.slice(start, end).join('\n'), prelude })
    i = end
  }
  return blocks
}

/** README.md and every docs/*.md of the repository at `root` (new pages are picked up without a list). */
export function docFiles(root: string): string[] {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f))
    : []
  return ['README.md', ...docs]
}

const SHARED_DEPENDENCIES = ['rxjs', 'kafkajs', 'ix', 'tslib', '@types/node', 'fast-check', 'pure-rand']

const CONFIGS = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  // fast-check 4's own declarations import pure-rand through its `exports` map, which node10 resolution
  // cannot read: a node10 user of fast-check maps that path (or sets skipLibCheck), as this check does.
  node10: {
    module: 'commonjs',
    moduleResolution: 'node10',
    baseUrl: '.',
    paths: { 'pure-rand/types/*': ['node_modules/pure-rand/lib/types/*'] },
  },
} as const

function run(root: string): number {
  const blocks = docFiles(root).flatMap((file) => extractBlocks(file, readFileSync(join(root, file), 'utf8')))
  const work = mkdtempSync(join(tmpdir(), 'kafka-rx-docs-'))
  try {
    const project = join(work, 'project')
    const modules = join(project, 'node_modules')
    mkdirSync(join(modules, 'kafka-rx'), { recursive: true })
    mkdirSync(join(modules, '@types'), { recursive: true })
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!
    execFileSync('tar', ['xzf', join(work, tarball), '-C', join(modules, 'kafka-rx'), '--strip-components=1'])
    for (const dep of SHARED_DEPENDENCIES) symlinkSync(join(root, 'node_modules', dep), join(modules, dep), 'dir')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'docs-check', private: true, type: 'commonjs' }))
    writeFileSync(join(project, 'prelude.d.ts'), readFileSync(join(root, 'scripts', 'docs-prelude.d.ts'), 'utf8'))
    const names = blocks.map((block, i) => {
      const name = `block${i}.ts`
      const prelude = block.prelude === '' ? '' : `${block.prelude}\n`
      // The block starts on line `preludeLines + 1`; `export {}` keeps a block without imports a module.
      writeFileSync(join(project, name), `${prelude}${block.code}\nexport {}\n`)
      return name
    })
    let failures = 0
    for (const [label, config] of Object.entries(CONFIGS)) {
      const tsconfig = {
        compilerOptions: {
          ...config,
          target: 'ES2022',
          lib: ['ES2022'],
          types: ['node'],
          strict: true,
          noEmit: true,
          noUnusedLocals: true,
          esModuleInterop: true,
          skipLibCheck: false,
        },
        files: ['prelude.d.ts', ...names],
      }
      writeFileSync(join(project, `tsconfig.${label}.json`), JSON.stringify(tsconfig, null, 2))
      const out = tsc(root, project, `tsconfig.${label}.json`)
      for (const message of out.split('\n').filter((l) => l.trim() !== '')) {
        failures++
        console.error(`[${label}] ${locate(message, blocks)}`)
      }
    }
    console.log(`docs: ${blocks.length} TypeScript blocks in ${docFiles(root).length} files, ${failures} errors (node16, node10)`)
    return failures === 0 ? 0 : 1
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

function tsc(root: string, project: string, config: string): string {
  try {
    // DOCS_TSC: another tsc to check with (the oldest TypeScript the package's types support, say).
    const compiler = process.env.DOCS_TSC ?? join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    execFileSync(process.execPath, [compiler, '-p', config, '--pretty', 'false'], {
      cwd: project,
      encoding: 'utf8',
    })
    return ''
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string }
    return `${e.stdout ?? ''}${e.stderr ?? ''}` || String(error)
  }
}

/** Rewrites `blockN.ts(line,col)` in a tsc message to the Markdown file and line the code came from. */
function locate(message: string, blocks: DocBlock[]): string {
  return message.replace(/block(\d+)\.ts\((\d+),(\d+)\)/, (_all, i: string, line: string, col: string) => {
    const block = blocks[Number(i)]!
    const preludeLines = block.prelude === '' ? 0 : block.prelude.split('\n').length
    const at = Number(line) - preludeLines
    return at < 1 ? `${block.file}:${block.line} (its prelude, line ${line}:${col})` : `${block.file}:${block.line + at - 1}:${col}`
  })
}

if (require.main === module) {
  process.exitCode = run(resolve(__dirname, '..', '..'))
}
