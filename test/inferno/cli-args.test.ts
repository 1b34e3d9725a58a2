// CL-01: command-line parsing and settings precedence (spec §9, §10).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseInfernoArgs, settingsFromOptions, splitEscapedList } from '#src/cli/inferno-args.js'

const NO_FILES: string[] = []

test('CL-01 defaults: every option null or false, parameters empty', () => {
  assert.deepEqual(parseInfernoArgs([]), {
    server: null, ddfs_root: null, settings_file: null, immediate_rule: null, rules_directory: null,
    just_query: false, force: false, start_paused: false, disco_debug: false, debug: false, profile: false,
    source_tags: null, source_urls: null, result_tag: null, day_start: null, day_range: null, day_offset: null,
    parameters: [], parameter_file: [], data_file: null, example_rules: null, process_results: null,
    daemon: false, pause: false, resume: false, partitions: null, max_record_size: null, progress: null, strict: false, json: false, format: 'csv', log_level: 'info',
  })
})

test('CL-01 every short/long flag pair maps to its key', () => {
  const pairs: [string, string, string | null, keyof ReturnType<typeof parseInfernoArgs>, unknown][] = [
    ['-s', '--server', 'srv', 'server', 'srv'],
    ['-e', '--settings', 'f.yaml', 'settings_file', 'f.yaml'],
    ['-i', '--immediate-rule', 'm.r', 'immediate_rule', 'm.r'],
    ['-y', '--rules-directory', 'dir', 'rules_directory', 'dir'],
    ['-q', '--just-query', null, 'just_query', true],
    ['-f', '--force', null, 'force', true],
    ['-x', '--start-paused', null, 'start_paused', true],
    ['-D', '--disco-debug', null, 'disco_debug', true],
    ['-d', '--debug', null, 'debug', true],
    ['-p', '--profile', null, 'profile', true],
    ['-t', '--source-tags', 'a:b,c:d', 'source_tags', ['a:b', 'c:d']],
    ['-u', '--source-urls', 'raw://a\\,b,raw://c', 'source_urls', ['raw://a,b', 'raw://c']],
    ['-r', '--result-tag', 'result:x', 'result_tag', 'result:x'],
    ['-S', '--day-start', '2012-12-01', 'day_start', '2012-12-01'],
    ['-R', '--day-range', '10', 'day_range', 10],
    ['-O', '--day-offset', '2', 'day_offset', 2],
    ['-P', '--parameters', 'foo: [1, 2]', 'parameters', [{ foo: [1, 2] }]],
    ['-l', '--parameter-file', 'p.yaml', 'parameter_file', ['p.yaml']],
  ]
  for (const [short, long, arg, key, want] of pairs) {
    for (const flag of [short, long]) {
      const got = parseInfernoArgs(arg === null ? [flag] : [flag, arg])
      assert.deepEqual(got[key], want, `${flag} → ${key}`)
    }
  }
  assert.equal(parseInfernoArgs(['--example-rules', 'ex']).example_rules, 'ex')
  assert.equal(parseInfernoArgs(['--example_rules', 'ex']).example_rules, 'ex')
  assert.equal(parseInfernoArgs(['--process-results', 'm.r@job']).process_results, 'm.r@job')
  assert.equal(parseInfernoArgs(['--daemon']).daemon, true)
  assert.equal(parseInfernoArgs(['--data-file', 'd.txt']).data_file, 'd.txt')
})

test('CL-01 typed values: -R int, -S date, -t list; bad values are usage errors', () => {
  assert.equal(parseInfernoArgs(['-R', '10']).day_range, 10)
  assert.equal(parseInfernoArgs(['-S', '2012-12-01']).day_start, '2012-12-01')
  assert.deepEqual(parseInfernoArgs(['-t', 'tag1,tag2']).source_tags, ['tag1', 'tag2'])
  for (const bad of [['-R', 'ten'], ['-S', '2012-13-01'], ['-S', '12/01/2012'], ['-P', '[1, 2]'], ['-P', 'a: [1'], ['--bogus']]) {
    assert.throws(() => parseInfernoArgs(bad), (e: Error & { code?: string }) => typeof e.code === 'string' && e.code.startsWith('commander.'), bad.join(' '))
  }
})

test('CL-01 -P YAML: strings, ints, lists with a trailing comma; several -P merge', () => {
  const o = parseInfernoArgs(['-P', 'some_str: hello', '-P', 'some_int: 100', '-P', 'some_list: [100, 200, 300,]'])
  const { settings } = settingsFromOptions(o, {}, NO_FILES)
  assert.equal(settings.some_str, 'hello')
  assert.equal(settings.some_int, 100)
  assert.deepEqual(settings.some_list, [100, 200, 300])
  assert.deepEqual(splitEscapedList('a\\,b,,c'), ['a,b', 'c'])
})

test('CL-01 settings precedence: defaults < -e file < flags; null flags never erase', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-cl01-'))
  try {
    const file = join(dir, 'settings.yaml')
    writeFileSync(file, 'server: another_server\nday_range: 3\nforce: true\n')
    const unknown = settingsFromOptions(parseInfernoArgs(['-e', join(dir, 'unknown.yaml')]), {}, NO_FILES)
    assert.equal(unknown.settings.server, 'localhost')
    assert.match(unknown.warnings[0]!, /not found/)
    assert.equal(settingsFromOptions(parseInfernoArgs(['-s', 'some_server']), {}, NO_FILES).settings.server, 'some_server')
    const fromFile = settingsFromOptions(parseInfernoArgs(['-e', file]), {}, NO_FILES).settings
    assert.equal(fromFile.server, 'another_server')
    assert.equal(fromFile.day_range, 3, 'a null -R keeps the file value')
    assert.equal(fromFile.force, true, 'an unset -f keeps the file value')
    assert.equal(settingsFromOptions(parseInfernoArgs(['-e', file, '-s', 'some_server']), {}, NO_FILES).settings.server, 'some_server')
    // The default search path is used when -e is absent.
    assert.equal(settingsFromOptions(parseInfernoArgs([]), {}, [join(dir, 'nope'), file]).settings.server, 'another_server')
    // Keyword overrides sit between the file and the flags.
    assert.equal(settingsFromOptions(parseInfernoArgs(['-e', file]), { server: 'kw' }, NO_FILES).settings.server, 'kw')
    assert.equal(settingsFromOptions(parseInfernoArgs(['-e', file, '-s', 'flag']), { server: 'kw' }, NO_FILES).settings.server, 'flag')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('-l parameter files (fixed, repeatable) and --data-file; -P beats -l', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-cl01-'))
  try {
    writeFileSync(join(dir, 'a.yaml'), 'geo_codes: [CA, US]\nfoo: 1\n')
    writeFileSync(join(dir, 'b.yaml'), 'bar: two\n')
    writeFileSync(join(dir, 'data.txt'), 'line one\nline two\n')
    writeFileSync(join(dir, 'list.yaml'), '- 1\n- 2\n')
    const o = parseInfernoArgs(['-l', join(dir, 'a.yaml'), '-l', join(dir, 'b.yaml'), '-P', 'foo: 2', '--data-file', join(dir, 'data.txt')])
    const { settings } = settingsFromOptions(o, {}, NO_FILES)
    assert.deepEqual(settings.geo_codes, ['CA', 'US'])
    assert.equal(settings.bar, 'two')
    assert.equal(settings.foo, 2)
    assert.deepEqual(settings.data_file, ['line one', 'line two'])
    assert.throws(() => settingsFromOptions(parseInfernoArgs(['-l', join(dir, 'list.yaml')]), {}, NO_FILES), { code: 'INFERNO_SETTINGS_INVALID' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
