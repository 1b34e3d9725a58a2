// `inferno --example-rules DIR`: writes the example rule modules (compiled JavaScript, so they run
// without TypeScript installed) and their small data files into DIR.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXAMPLE_DATA_FILES } from './data-files.js'

/** The example rule modules, by module name. */
export const EXAMPLE_MODULES = ['names', 'election', 'chain', 'clicks'] as const

/** The directory holding the compiled example modules (usable directly as a rules directory). */
export const EXAMPLE_RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'rules')

/** True when `import 'disco-inferno'` resolves from a file in `dir` (installed, or this package itself). */
function resolvesPackage(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', 'disco-inferno', 'package.json'))) return true
    const pkg = join(d, 'package.json')
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'disco-inferno') return true
      } catch {
        // not a readable package.json: keep looking upwards
      }
    }
    if (dirname(d) === d) return false
  }
}

/**
 * Writes `names.js`, `election.js`, `chain.js`, `clicks.js` and `names.json`, `names.csv`,
 * `election.csv` into `dir` (created when missing). The modules import `disco-inferno/rules` (the
 * package's rule-module entry) by name;
 * when that does not resolve from `dir` (no project with the package installed around it),
 * `dir/node_modules/disco-inferno` is linked to this installation so that it does. Returns the
 * paths written.
 *
 * @example
 * writeExampleRules('rules') // ['rules/names.js', …, 'rules/election.csv']
 */
export function writeExampleRules(dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  if (!resolvesPackage(dir)) {
    mkdirSync(join(dir, 'node_modules'), { recursive: true })
    symlinkSync(fileURLToPath(new URL('../../../', import.meta.url)), join(dir, 'node_modules', 'disco-inferno'), 'dir')
  }
  // The package's rule-module entry, as the README's rule modules import it.
  const target = 'disco-inferno/rules'
  const written: string[] = []
  for (const name of EXAMPLE_MODULES) {
    const js = readFileSync(join(EXAMPLE_RULES_DIR, `${name}.js`), 'utf8')
      .replace(/from '\.\.\/\.\.\/rules\/authoring\.js'/g, `from '${target}'`)
      .replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n')
    const path = join(dir, `${name}.js`)
    writeFileSync(path, js)
    written.push(path)
  }
  for (const [name, text] of Object.entries(EXAMPLE_DATA_FILES)) {
    const path = join(dir, name)
    writeFileSync(path, text)
    written.push(path)
  }
  return written
}
