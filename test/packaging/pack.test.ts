// Packaging (issue 12): the packed tarball holds what users need, installs into an empty project
// (offline: the tarball unpacked, dependencies linked from this checkout) and runs rules by package name.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function sh(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

test('npm pack → install into a temp project → run rules (JS and TS) importing disco-inferno by name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pack-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // dist/ is already built by `npm test`; --ignore-scripts keeps prepack from rebuilding it under the running tests.
  const pack = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)
  assert.equal(pack.status, 0, pack.err)
  const [info] = JSON.parse(pack.out) as { filename: string; files: { path: string }[] }[]
  const files = new Set(info!.files.map((f) => f.path))
  for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/inferno-bin.js', 'dist/cli/inferno.js', 'dist/cli/ddfs.js',
    'dist/cli/ddb.js', 'dist/cli/disco.js', 'dist/ddfs/compliance.js', 'dist/util/ts-hooks.js', 'docs/errors.md']) {
    assert.ok(files.has(f), `${f} is in the tarball`)
  }
  assert.ok(![...files].some((f) => f.startsWith('build/') || f.startsWith('test/') || f.startsWith('src/')), 'no tests or sources')

  const project = join(dir, 'project')
  sh('mkdir', ['-p', project], dir)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }))
  // Installed as npm would lay it out, without the network: the tarball unpacked as
  // node_modules/disco-inferno, its dependencies linked from this checkout's node_modules.
  sh('mkdir', ['-p', join(project, 'node_modules')], dir)
  assert.equal(sh('tar', ['-xzf', join(dir, info!.filename), '-C', join(project, 'node_modules')], dir).status, 0)
  renameSync(join(project, 'node_modules', 'package'), join(project, 'node_modules', 'disco-inferno'))
  for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
    if (dep.startsWith('.') || dep === 'disco-inferno') continue
    symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep))
  }
  const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'disco-inferno', 'package.json'), 'utf8')) as { bin: Record<string, string> }
  const tool = (name: string, args: string[]) => sh(process.execPath, [join(project, 'node_modules', 'disco-inferno', pkg.bin[name]!), ...args], project)
  const version = tool('inferno', ['--version'])
  assert.equal(version.out.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version)
  assert.equal(tool('inferno', ['--example-rules', 'rules']).status, 0)
  assert.match(readFileSync(join(project, 'rules', 'names.js'), 'utf8'), /from 'disco-inferno\/rules'/)
  assert.equal(tool('ddfs', ['--store', 'store', 'chunk', 'example:chunk:users', './rules/names.json']).status, 0)
  const js = tool('inferno', ['--store', 'store', '-y', 'rules', '-i', 'names.last_names_json'])
  assert.equal(js.status, 0, js.err)
  assert.equal(js.out, 'last,count\r\nNahasapeemapetilon,6\r\nPowell,6\r\nSimpson,10\r\nTérminos,2\r\n')

  writeFileSync(join(project, 'rules', 'mine.ts'), [
    "import { defineRule, type Parts } from 'disco-inferno'",
    'const one = (p: Parts): Parts => ({ ...p, n: 1 })',
    "export const rules = [defineRule({ name: 'first', sourceTags: ['example:chunk:users'], mapInputStream: 'json', partsPreprocess: [one], keyParts: ['first'], valueParts: ['n'] })]",
    '',
  ].join('\n'))
  const ts = tool('inferno', ['--store', 'store', '-y', 'rules', '-i', 'mine.first'])
  assert.equal(ts.status, 0, ts.err)
  assert.match(ts.out, /^first,n\r\n(?:.*\r\n)*Maggie,2\r\n/)

  // The compliance suites and the rule-module entry are importable as documented.
  const probe = sh(process.execPath, ['--input-type=module', '-e',
    "const d = await import('disco-inferno/ddfs/compliance'); const j = await import('disco-inferno/disco/compliance'); const r = await import('disco-inferno/rules'); console.log(typeof d.runCompliance, typeof j.runJobStoreCompliance, typeof r.defineRule)"], project)
  assert.equal(probe.out.trim(), 'function function function', probe.err)
})
