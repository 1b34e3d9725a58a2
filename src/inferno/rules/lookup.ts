// Rule modules in a rules directory, `autorun`, and addressing module / module.rule /
// module.rule.keyset (spec inferno.md section 6).
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, extname, resolve } from 'node:path'
import { DiscoError } from '../../errors.js'
import { enableTsModules, importModule } from '../../util/modules.js'
import { withRule, type Rule } from './rule.js'

/** One loaded rule module. */
export interface RuleModule {
  /** Module name (file name without extension). */
  readonly name: string
  readonly path: string
  /** True when the module exports `autorun = true` (the daemon runs it). */
  readonly autorun: boolean
  /** Its rules, each with `qualifiedName` (`module.rule`) and `modulePath` set. */
  readonly rules: readonly Rule[]
}

const EXTS = ['.js', '.mjs', '.ts', '.mts']

/** Lets `import()` load `.ts` rule modules on Node 20 (transpiled by esbuild). Idempotent. */
export const enableTsRules = enableTsModules

/**
 * The rule module files of a directory, by module name (`*.js|mjs|ts|mts`; dot files, `index.*`,
 * `__init__.*` and `*.d.ts` ignored; `.js` wins over `.ts` of the same name).
 *
 * @example
 * ruleModuleFiles('rules') // Map { 'names' => '/abs/rules/names.js', … }
 */
export function ruleModuleFiles(dir: string): Map<string, string> {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch (e) {
    throw new DiscoError('INFERNO_RULES_DIR', `expected a readable rules directory, found ${dir} (${(e as Error).message})`)
  }
  const out = new Map<string, string>()
  for (const f of entries.sort()) {
    const ext = extname(f)
    if (!EXTS.includes(ext) || f.startsWith('.') || f.endsWith('.d.ts') || f.endsWith('.d.mts')) continue
    const name = basename(f, ext)
    if (name === 'index' || name === '__init__') continue
    const path = resolve(dir, f)
    if (!statSync(path).isFile()) continue
    const prev = out.get(name)
    if (prev === undefined || (extname(prev).includes('ts') && !ext.includes('ts'))) out.set(name, path)
  }
  return out
}

/** Attaches module information to a rule and, recursively, to its sub-rules. */
function attach(rule: Rule, module: string, path: string): Rule {
  return withRule(rule, {
    qualifiedName: `${module}.${rule.name}`,
    modulePath: path,
    subRules: Object.freeze(rule.subRules.map((r) => attach(r, module, path))),
  })
}

/**
 * Imports one rule module. It exports `rules` (or `RULES`): a list of rules from defineRule, and
 * optionally `autorun` (or `AUTORUN`).
 *
 * @example
 * (await loadRuleModule('rules/names.js')).rules.map(String) // ['<InfernoRule: last_names_json>', …]
 */
export async function loadRuleModule(path: string, name = basename(path, extname(path))): Promise<RuleModule> {
  const abs = resolve(path)
  if (!existsSync(abs)) throw new DiscoError('INFERNO_RULE_NOT_FOUND', `expected rule module ${abs}, found no such file`)
  const mod = await importModule(abs, 'rule module')
  const rules = mod.rules ?? mod.RULES ?? (mod.default as Record<string, unknown> | undefined)?.rules
  if (!Array.isArray(rules) || rules.some((r) => !r || (r as Rule).kind !== 'rule')) {
    throw new DiscoError('INFERNO_RULE_INVALID', `expected rule module ${abs} to export rules: a list of defineRule(...), found ${typeof rules}`)
  }
  const autorun = (mod.autorun ?? mod.AUTORUN ?? (mod.default as Record<string, unknown> | undefined)?.autorun) === true
  return { name, path: abs, autorun, rules: rules.map((r: Rule) => attach(r, name, abs)) }
}

/** Loads every rule module of a directory, in module-name order. */
export async function loadRules(dir: string): Promise<RuleModule[]> {
  const out: RuleModule[] = []
  for (const [name, path] of ruleModuleFiles(dir)) out.push(await loadRuleModule(path, name))
  return out
}

/** Options of findRules. */
export interface FindOptions {
  /** Immediate mode (`-i`): modules without `autorun` are found too (default true). */
  readonly immediate?: boolean
  /** Called with a warning when nothing matches. */
  readonly warn?: (msg: string) => void
}

/** Restricts a rule to one keyset (a copy; the original is untouched). */
export function restrictKeyset(rule: Rule, keyset: string): Rule | undefined {
  const ks = rule.keysets[keyset]
  if (!ks) return undefined
  return withRule(rule, { keysets: Object.freeze({ [keyset]: ks }) })
}

/**
 * Finds rules by address (section 6): `module`, `module.rule` or `module.rule.keyset`. An empty,
 * unknown module, rule or keyset gives `[]` and a warning. Without `immediate`, only `autorun`
 * modules are considered.
 *
 * @example
 * await findRules('rules', 'names.last_names_json') // [<InfernoRule: last_names_json>]
 */
export async function findRules(dir: string, address: string, opts: FindOptions = {}): Promise<Rule[]> {
  const warn = opts.warn ?? (() => {})
  if (!address) return []
  const [modName, ruleName, keyset, ...rest] = address.split('.')
  if (rest.length > 0) { warn(`rule address ${address}: expected module[.rule[.keyset]]`); return [] }
  const path = ruleModuleFiles(dir).get(modName!)
  if (path === undefined) { warn(`no rule module ${modName} in ${dir}`); return [] }
  const mod = await loadRuleModule(path, modName)
  if (!(opts.immediate ?? true) && !mod.autorun) return []
  if (ruleName === undefined) return [...mod.rules]
  const rule = mod.rules.find((r) => r.name === ruleName)
  if (!rule) { warn(`no rule ${ruleName} in module ${modName}`); return [] }
  if (keyset === undefined) return [rule]
  const one = restrictKeyset(rule, keyset)
  if (!one) { warn(`no keyset ${keyset} in rule ${modName}.${ruleName}`); return [] }
  return [one]
}

/** All rules of the `autorun` modules of a directory (what the daemon runs). */
export async function autorunRules(dir: string): Promise<Rule[]> {
  return (await loadRules(dir)).filter((m) => m.autorun).flatMap((m) => [...m.rules])
}

/** Finds a rule (or a sub-rule, depth first) by name inside a module's rules. */
export function findRuleByName(rules: readonly Rule[], name: string): Rule | undefined {
  for (const r of rules) {
    if (r.name === name) return r
    const sub = findRuleByName(r.subRules, name)
    if (sub) return sub
  }
  return undefined
}
