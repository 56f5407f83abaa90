// fast-check is an optional peer dependency, used by kafka-rx/testing only: the main entry loads without it,
// kafka-rx/testing loads without it too, and only its arbitraries ask for it, with a clear error.
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')

/** Runs `script` in a fresh node where `require('fast-check')` fails as if it were not installed. */
function withoutFastCheck(script: string): string {
  const block = `
    const Module = require('node:module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'fast-check' || request.startsWith('fast-check/')) throw Object.assign(new Error("Cannot find module 'fast-check'"), { code: 'MODULE_NOT_FOUND' })
      return resolve.call(this, request, ...rest)
    }
  `
  return execFileSync(process.execPath, ['-e', block + script], { cwd: root, encoding: 'utf8' })
}

describe('fast-check is an optional peer dependency of kafka-rx/testing', () => {
  it('package.json declares it optional, and keeps it for development', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    expect(pkg.peerDependencies['fast-check']).to.be.a('string')
    expect(pkg.peerDependenciesMeta['fast-check'].optional).to.equal(true)
    expect(pkg.devDependencies['fast-check']).to.be.a('string')
    expect(pkg.dependencies['fast-check']).to.equal(undefined)
  })

  it('the main entry loads without it, and nothing it loads comes from fast-check', () => {
    // Mutation caught: an `import fc from 'fast-check'` anywhere in index.ts's import graph.
    const out = withoutFastCheck(`
      const kafkaRx = require('./dist/index.js')
      const loaded = Object.keys(require.cache).filter((f) => f.includes('fast-check'))
      console.log(JSON.stringify({ fromKafka: typeof kafkaRx.fromKafka, loaded }))
    `)
    expect(JSON.parse(out)).to.deep.equal({ fromKafka: 'function', loaded: [] })
  })

  it('kafka-rx/testing loads without it; only the arbitraries need it, and say so', () => {
    const out = withoutFastCheck(`
      const testing = require('./dist/lib/testing/index.js')
      let message
      try { testing.worlds() } catch (error) { message = error.message }
      console.log(JSON.stringify({ runPipeline: typeof testing.runPipeline, records: typeof testing.records, message }))
    `)
    const { runPipeline, records, message } = JSON.parse(out)
    expect([runPipeline, records]).to.deep.equal(['function', 'function'])
    expect(message).to.match(/kafka-rx\/testing: .* need fast-check .*npm install --save-dev fast-check/)
  })
})
