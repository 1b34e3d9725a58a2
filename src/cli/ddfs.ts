#!/usr/bin/env node
// `ddfs`: the original's command line over the embedded store (./.disco, $DISCO_STORE or --store).
import { Command } from 'commander'
import { createReadStream, promises as fsp, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DiscoError } from '../errors.js'
import { Ddfs, parseCompress, safeName, type ChunkInput, type ReplicaSet } from '../ddfs/index.js'
import { Progress, runCli, usageError } from './common.js'
import { addStoreOptions, cliStore, closeCliStores } from './store.js'

interface Globals {
  store?: string
  creds?: string
  tlsCa?: string
  token?: string
  json?: boolean
}

/** Parses a size: a plain number is MB (decimals allowed, as `-S`), or `<n>[B|KB|MB|GB]`. */
export function parseSize(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i.exec(s.trim())
  if (!m) throw usageError(`${what}: expected a size like 64, 0.5, 512KB or 1GB, found ${JSON.stringify(s)}`)
  const unit = (m[2] ?? 'mb').toLowerCase()[0]
  const mult = unit === 'b' ? 1 : unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : 1024 ** 3
  return Math.round(Number(m[1]) * mult)
}

/** Parses a duration: `<n>` seconds, or `<n>s|m|h|d`. */
export function parseDuration(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(s.trim())
  if (!m) throw usageError(`${what}: expected a duration like 0, 30s, 2h or 5d, found ${JSON.stringify(s)}`)
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[(m[2] ?? 's').toLowerCase() as 'ms']
  return Math.round(Number(m[1]) * mult)
}

function out(line: string): void {
  process.stdout.write(line + '\n')
}

function printJson(v: unknown): void {
  out(JSON.stringify(v, null, 2))
}

/** Writes to stdout honouring back-pressure. */
function write(chunk: Uint8Array | string): Promise<void> | void {
  if (!process.stdout.write(chunk)) return new Promise((res) => process.stdout.once('drain', () => res()))
}

async function stdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) return []
  const parts: Buffer[] = []
  for await (const c of process.stdin) parts.push(c as Buffer)
  return Buffer.concat(parts).toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean)
}

/** URL arguments, or replica sets read from stdin (one whitespace-separated set per line). */
async function urlArgs(args: string[]): Promise<string[]> {
  return args.length > 0 ? args : stdinLines()
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('tag://') || s.startsWith('/')
}

async function expand(ddfs: Ddfs, args: string[], prefixMode: boolean | undefined): Promise<string[]> {
  if (!prefixMode) return args
  const seen = new Set<string>()
  for (const p of args) for (const t of await ddfs.list(p)) seen.add(t)
  return [...seen].sort()
}

/** The replica sets behind arguments that may be URLs or tags (cat/xcat). */
async function blobsOf(ddfs: Ddfs, args: string[], o: { ignoreMissing?: boolean; prefixMode?: boolean }, g: Globals): Promise<ReplicaSet[]> {
  const sets: ReplicaSet[] = []
  const given = await urlArgs(args)
  for (const a of o.prefixMode ? await expand(ddfs, given, true) : given) {
    if (isUrl(a) || /\s/.test(a)) sets.push(a.split(/\s+/).filter(Boolean))
    else sets.push(...(await ddfs.blobs(a, { ignoreMissing: Boolean(o.ignoreMissing), token: g.token })))
  }
  return sets
}

async function* counted(src: AsyncIterable<Uint8Array>, count: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const c of src) { count(c.length); yield c }
}

/** Files found under a path for `push -r`. */
async function filesUnder(path: string, recurse: boolean, skipped: string[]): Promise<string[]> {
  const st = await fsp.stat(path)
  if (st.isFile()) return [path]
  if (!st.isDirectory()) { skipped.push(path); return [] }
  if (!recurse) { skipped.push(path); return [] }
  const outp: string[] = []
  for (const n of (await fsp.readdir(path)).sort()) outp.push(...(await filesUnder(join(path, n), recurse, skipped)))
  return outp
}

/** Builds the `ddfs` program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('ddfs')
    .description('DDFS: tag-addressed blob store (a local directory, or a NATS JetStream cluster)')
  addStoreOptions(program)
  program
    .option('-t, --token <token>', 'read and write token for protected tags')
    .option('--json', 'print lists as JSON')
    .showHelpAfterError('(run ddfs --help for the verbs and options)')
  const globals = (): Globals => program.opts<Globals>()
  const store = (): Promise<Ddfs> => cliStore(globals())
  const tok = (): { token?: string } => (globals().token !== undefined ? { token: globals().token } : {})

  program.command('push').argument('<tag>').argument('<file...>')
    .description('store files as they are and append them to TAG')
    .option('-r, --recursive', 'recurse into directories (otherwise they are skipped)')
    .option('-u, --update', 'set semantics: skip blobs whose name is already in the tag')
    .option('-n, --replicas <n>', 'accepted for compatibility; the local store keeps one copy')
    .option('-x, --tarball', 'files are tar archives (.tar or .tar.gz): one blob per member')
    .option('-z, --gzip', 'with -x: gzip each member')
    .option('-I, --include <substr>', 'with -x: only members whose path contains this')
    .option('-E, --exclude <substr>', 'with -x: skip members whose path contains this')
    .action(async (tag: string, files: string[], o: { recursive?: boolean; update?: boolean; tarball?: boolean; gzip?: boolean; include?: string; exclude?: string }) => {
      const ddfs = await store()
      const skipped: string[] = []
      const all: string[] = []
      for (const f of files) all.push(...(await filesUnder(f, Boolean(o.recursive), skipped)))
      for (const s of skipped) process.stderr.write(`ddfs: skipping ${s} (not a regular file; use -r for directories)\n`)
      if (!o.tarball && (o.gzip || o.include !== undefined || o.exclude !== undefined)) throw usageError('-z, -I and -E only apply with -x')
      const sets: ReplicaSet[] = []
      if (o.tarball) {
        for (const f of all) sets.push(...(await ddfs.pushTarball(tag, f, { update: o.update, gzip: o.gzip, include: o.include, exclude: o.exclude, ...tok() })))
      } else {
        sets.push(...(await ddfs.push(tag, all, { update: o.update, ...tok() })))
      }
      if (globals().json) printJson(sets)
      else for (const s of sets) out(`created: ${s.join(' ')}`)
    })

  program.command('chunk').argument('<tag>').argument('<input...>')
    .description('split line input (./file, ./file.gz, - for stdin, or a tag) into blobs (gzip or plain) and append them to TAG')
    .option('-S, --size <MB>', 'chunk size (MB unless a unit is given)', '64')
    .option('-Z, --max-record <MB>', 'largest record (MB unless a unit is given)', '1')
    .option('-u, --update', 'set semantics when tagging')
    .option('--level <n>', 'gzip level 1-9', '6')
    .option('--compress <codec>', 'none, gzip or gzip:LEVEL (default gzip, --level)')
    .option('--input-size <MB>', 'most line bytes per chunk before compression (MB unless a unit is given)', '16')
    .option('-n, --replicas <n>', 'accepted for compatibility; the local store keeps one copy')
    .action(async (tag: string, inputs: string[], o: { size: string; maxRecord: string; update?: boolean; level: string; compress?: string; inputSize: string }) => {
      const ddfs = await store()
      const chunkSize = parseSize(o.size, '-S')
      const maxRecordSize = parseSize(o.maxRecord, '-Z')
      const inputSize = parseSize(o.inputSize, '--input-size')
      const codec = o.compress === undefined ? undefined : parseCompress(o.compress)
      const compress = codec?.compress
      const level = codec?.level ?? Number(o.level)
      let total = 0
      let read = 0
      let unknown = false
      const sources: ChunkInput[] = []
      const count = (n: number): void => { read += n }
      for (const inp of inputs) {
        if (inp === '-') {
          unknown = true
          sources.push({ name: 'stdin', source: counted(process.stdin, count) })
        } else if (inp.includes('/')) {
          const st = await fsp.stat(inp)
          if (!st.isFile()) throw new DiscoError('DDFS_NOT_A_FILE', `expected a regular file, found ${inp}`)
          total += st.size
          const name = inp.slice(inp.lastIndexOf('/') + 1)
          sources.push({ name, source: counted(createReadStream(inp, { highWaterMark: 1 << 20 }), count) })
        } else {
          // No '/': a tag whose blobs are re-chunked (as in the original).
          unknown = true
          const sets = await ddfs.blobs(inp, { ignoreMissing: false, ...tok() })
          sources.push({ name: safeName(inp), source: concatBlobs(ddfs, sets) })
        }
      }
      const progress = new Progress('chunk')
      let lastOut = 0
      const sets = await ddfs.chunk(tag, sources, {
        chunkSize, inputSize, maxRecordSize, level, ...(compress ? { compress } : {}), update: o.update, ...tok(),
        onProgress: (p) => {
          lastOut = p.bytesOut
          progress.update(unknown ? Math.round(p.bytesIn / 1e6) : read, unknown ? undefined : total,
            `${(p.bytesIn / 1e6).toFixed(0)} MB in, ${(lastOut / 1e6).toFixed(0)} MB ${compress === 'none' ? 'stored' : 'gz'}, ${p.chunks} chunks`)
        },
      })
      progress.done()
      if (globals().json) printJson(sets)
      else for (const s of sets) out(`created: ${s.join(' ')}`)
    })

  for (const verb of ['tag', 'put'] as const) {
    program.command(verb).argument('<tag>').argument('[url...]')
      .description(verb === 'tag' ? 'append replica sets or tag:// links (from stdin when none given)' : 'replace the tag content')
      .option('-u, --update', 'set semantics (tag only)')
      .action(async (tag: string, urls: string[], o: { update?: boolean }) => {
        const ddfs = await store()
        const entries = await urlArgs(urls)
        if (verb === 'tag') await ddfs.tag(tag, entries, { update: o.update, ...tok() })
        else await ddfs.put(tag, entries, tok())
        if (globals().json) printJson(await ddfs.urls(tag, tok()))
      })
  }

  program.command('touch').argument('<tag...>').description('create empty tags if missing')
    .action(async (tags: string[]) => { const d = await store(); for (const t of tags) await d.touch(t, tok()) })

  program.command('cp').argument('<src>').argument('<dst>').description('copy the entries of SRC to DST, overwriting it')
    .action(async (src: string, dst: string) => { await (await store()).cp(src, dst, tok()) })

  program.command('ls').argument('[prefix...]').description('list tag names by prefix (all if none)')
    .option('-r, --recursive', 'also list each tag\'s blobs')
    .action(async (prefixes: string[], o: { recursive?: boolean }) => {
      const ddfs = await store()
      // A damaged tag is reported (and the exit status is 1) but does not hide the others.
      const onCorrupt = (tag: string, e: DiscoError): void => {
        process.stderr.write(`ddfs: error ${e.code}: ${e.message}\n`)
        process.exitCode = 1
      }
      const seen = new Set<string>()
      for (const p of prefixes.length > 0 ? prefixes : ['']) for (const t of await ddfs.list(p, { onCorrupt })) seen.add(t)
      const names = [...seen].sort()
      if (!o.recursive) { if (globals().json) printJson(names); else for (const n of names) out(n); return }
      const rows: { tag: string; blobs: ReplicaSet[] }[] = []
      for (const n of names) rows.push({ tag: n, blobs: await ddfs.blobs(n, tok()) })
      if (globals().json) printJson(rows)
      else for (const r of rows) { out(r.tag); for (const b of r.blobs) out(`\t${b.join('\t')}`) }
    })

  program.command('blobs').argument('<tag...>').description('replica URLs of every reachable blob, one blob per line')
    .option('-i, --ignore-missing', 'skip missing tags')
    .option('-p, --prefix-mode', 'arguments are tag prefixes')
    .action(async (tags: string[], o: { ignoreMissing?: boolean; prefixMode?: boolean }) => {
      const ddfs = await store()
      const sets: ReplicaSet[] = []
      for (const t of await expand(ddfs, tags, o.prefixMode)) sets.push(...(await ddfs.blobs(t, { ignoreMissing: Boolean(o.ignoreMissing), ...tok() })))
      if (globals().json) printJson(sets)
      else for (const s of sets) out(s.join('\t'))
    })

  program.command('urls').argument('<tag...>').description('the tags\' direct entries')
    .option('-i, --ignore-missing', 'skip missing tags')
    .option('-p, --prefix-mode', 'arguments are tag prefixes')
    .action(async (tags: string[], o: { ignoreMissing?: boolean; prefixMode?: boolean }) => {
      const ddfs = await store()
      const sets: string[][] = []
      for (const t of await expand(ddfs, tags, o.prefixMode)) {
        if (o.ignoreMissing && !(await ddfs.exists(t, tok()))) continue
        sets.push(...(await ddfs.urls(t, tok())))
      }
      if (globals().json) printJson(sets)
      else for (const s of sets) out(s.join('\t'))
    })

  program.command('find').argument('<tag...>').description('walk the tag graph and print the tag paths reached')
    .option('-w, --warn', 'warn about missing tags')
    .action(async (tags: string[], o: { warn?: boolean }) => {
      const found = await (await store()).findTags(tags, tok())
      if (o.warn) for (const f of found) if (f.missing) process.stderr.write(`ddfs: warning: missing tag ${f.tag} (via ${f.path.join(' -> ')})\n`)
      const live = found.filter((f) => !f.missing)
      if (globals().json) printJson(live.map((f) => ({ tag: f.tag, path: f.path })))
      else for (const f of live) out(f.path.join(' -> '))
    })

  program.command('get').argument('<tag>').description('print the tag object')
    .action(async (tag: string) => printJson(await (await store()).get(tag, tok())))

  program.command('stat').argument('<tag...>').description('print the tag objects without their entries')
    .option('-p, --prefix-mode', 'arguments are tag prefixes')
    .action(async (tags: string[], o: { prefixMode?: boolean }) => {
      const ddfs = await store()
      for (const t of await expand(ddfs, tags, o.prefixMode)) {
        const { urls, ...rest } = await ddfs.get(t, tok())
        const row = { tag: t.replace(/^tag:\/\//, ''), ...rest, entries: urls.length }
        if (globals().json) out(JSON.stringify(row))
        else out(`${row.tag}\t${row.id}\t${row['last-modified']}\t${row.entries} entries`)
      }
    })

  program.command('exists').argument('<tag>').description('print True (exit 0) or False (exit 1)')
    .action(async (tag: string) => {
      const yes = await (await store()).exists(tag, tok())
      out(yes ? 'True' : 'False')
      if (!yes) process.exitCode = 1
    })

  program.command('attrs').argument('<tag>').description('print name<TAB>value lines')
    .action(async (tag: string) => {
      const a = await (await store()).attrs(tag, tok())
      if (globals().json) printJson(a)
      else for (const [k, v] of Object.entries(a)) out(`${k}\t${v}`)
    })
  program.command('getattr').argument('<tag>').argument('<attr>').description('print one attribute')
    .action(async (tag: string, attr: string) => {
      const v = await (await store()).getattr(tag, attr, tok())
      if (v === undefined) throw new DiscoError('DDFS_ATTR_NOT_FOUND', `tag ${tag} has no attribute ${attr}`)
      out(v)
    })
  program.command('setattr').argument('<tag>').argument('<attr>').argument('<value>').description('set an attribute')
    .action(async (tag: string, attr: string, value: string) => (await store()).setattr(tag, attr, value, tok()))
  program.command('delattr').argument('<tag>').argument('<attr>').description('delete an attribute')
    .action(async (tag: string, attr: string) => (await store()).delattr(tag, attr, tok()))

  program.command('chtok').argument('<tag>').argument('<token>').description('set the read and/or write token (both if neither flag)')
    .option('-r, --read', 'set the read token')
    .option('-w, --write', 'set the write token')
    .action(async (tag: string, token: string, o: { read?: boolean; write?: boolean }) => {
      const both = !o.read && !o.write
      await (await store()).setToken(tag, token, { read: both || o.read, write: both || o.write }, tok())
    })

  for (const verb of ['cat', 'xcat'] as const) {
    program.command(verb).argument('[url-or-tag...]')
      .description(verb === 'cat' ? 'raw bytes of URLs and of the blobs of tags' : 'decoded lines (gunzipped) of URLs and of the blobs of tags')
      .option('-i, --ignore-missing', 'skip missing tags and unreadable blobs')
      .option('-p, --prefix-mode', 'arguments are tag prefixes')
      .action(async (args: string[], o: { ignoreMissing?: boolean; prefixMode?: boolean }) => {
        const ddfs = await store()
        for (const set of await blobsOf(ddfs, args, o, globals())) {
          try {
            if (verb === 'cat') {
              for await (const c of await ddfs.openBlob(set)) await write(c)
            } else {
              let buf = ''
              for await (const line of ddfs.readLines(set)) {
                buf += line.trimEnd() + '\n'
                if (buf.length > 1 << 16) { await write(buf); buf = '' }
              }
              if (buf) await write(buf)
            }
          } catch (e) {
            if (!o.ignoreMissing || !(e instanceof DiscoError)) throw e
            process.stderr.write(`ddfs: skipping ${set.join(' ')}: ${e.message}\n`)
          }
        }
      })
  }

  program.command('rm').alias('delete').argument('<tag...>').description('delete tags (missing tags are fine)')
    .option('-p, --prefix-mode', 'arguments are tag prefixes')
    .action(async (tags: string[], o: { prefixMode?: boolean }) => {
      const ddfs = await store()
      for (const t of await expand(ddfs, tags, o.prefixMode)) await ddfs.delete(t, tok())
    })

  program.command('gc').description('delete blobs no live tag references, after a grace period (blobs of running writes are always kept)')
    .option('--grace <duration>', 'keep unreferenced blobs younger than this', '5d')
    .option('--tombstone-grace <duration>', 'forget deleted tags older than this', '30d')
    .option('--leftover-grace <duration>', 'remove partial files, and blobs of failed or interrupted writes, this long after the write ended', '1h')
    .option('-n, --dry-run', 'report only')
    .action(async (o: { grace: string; tombstoneGrace: string; leftoverGrace: string; dryRun?: boolean }) => {
      const r = await (await store()).gc({
        graceMs: parseDuration(o.grace, '--grace'), tombstoneGraceMs: parseDuration(o.tombstoneGrace, '--tombstone-grace'),
        partialGraceMs: parseDuration(o.leftoverGrace, '--leftover-grace'), dryRun: o.dryRun,
      })
      if (globals().json) printJson(r)
      else {
        const verb = o.dryRun ? 'would delete' : 'deleted'
        out(`${verb} ${r.blobsDeleted.length} blobs (${r.bytesFreed} bytes), kept ${r.blobsKept} (${r.blobsPending} of running or recent writes), ` +
          `forgot ${r.tombstonesPurged.length} deleted tags, ${o.dryRun ? 'would remove' : 'removed'} ${r.leftoversRemoved} leftovers`)
        if (o.dryRun) for (const u of r.blobsDeleted) out(`  ${u}`)
      }
    })

  return program
}

/** Lines of several blobs as one stream (for re-chunking a tag), each blob gunzipped. */
async function* concatBlobs(ddfs: Ddfs, sets: ReplicaSet[]): AsyncGenerator<Uint8Array> {
  const NL = Buffer.from('\n')
  for (const s of sets) for await (const line of ddfs.readLines(s)) { yield Buffer.from(line); yield NL }
}

/** True when this file is the process entry (also through an npm bin symlink). */
function isMain(): boolean {
  try { return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href } catch { return false }
}

if (isMain()) {
  await runCli('ddfs', buildProgram())
  await closeCliStores()
}
