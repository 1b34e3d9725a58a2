#!/usr/bin/env node
// `ddb`: build and inspect DiscoDB files from the command line.
import { Command, Option } from 'commander'
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { DiscoError } from '../errors.js'
import { DiscoDB, DiscoDBConstructor, type Inquiry, type Q } from '../discodb/index.js'
import { addTsvLines } from '../discodb/tsv.js'
import { parseSize, productProgram, Progress, runCli, usageError, writeOut } from './common.js'
import { DEFAULT_MAX_LINE, LineSplitter, throwTooLong, type LineSink } from '../ddfs/index.js'
import { writeFileAtomicSync } from '../util/atomic.js'

type Encoding = 'utf8' | 'base64' | 'hex'

interface OutputOptions {
  json?: boolean
  encoding: Encoding
}

const encodingOption = (): Option =>
  new Option('-e, --encoding <enc>', 'how keys, values and queries are written in arguments and output').choices(['utf8', 'base64', 'hex']).default('utf8')

/** Decodes a command-line string (or JSON string) to bytes. */
function decodeArg(s: string, enc: Encoding, what: string): Uint8Array {
  if (enc === 'utf8') return Buffer.from(s, 'utf8')
  const ok = enc === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/.test(s) : /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0
  if (!ok) throw usageError(`${what}: expected ${enc}, found ${JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s)}`)
  return Buffer.from(s, enc)
}

/** Bytes as a string of the chosen encoding (utf8: invalid bytes become U+FFFD). */
function encodeOut(b: Uint8Array, enc: Encoding): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString(enc)
}

/** Buffered stdout writer that honours back-pressure. */
class Out {
  private parts: (Uint8Array | string)[] = []
  private size = 0

  async write(chunk: Uint8Array | string): Promise<void> {
    this.parts.push(chunk)
    this.size += chunk.length
    if (this.size >= 1 << 16) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return
    const buf = Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)))
    this.parts = []
    this.size = 0
    if (!writeOut(buf)) await new Promise<void>((res) => process.stdout.once('drain', () => res()))
  }
}

const NL = Uint8Array.of(10)
const TAB = Uint8Array.of(9)

/** One value per line: raw bytes (utf8) or encoded; with --json one JSON string per line. */
async function printValues(vals: Iterable<Uint8Array>, o: OutputOptions): Promise<void> {
  const out = new Out()
  for (const v of vals) {
    if (o.json) await out.write(JSON.stringify(encodeOut(v, o.encoding)) + '\n')
    else if (o.encoding === 'utf8') {
      await out.write(v)
      await out.write(NL)
    } else await out.write(encodeOut(v, o.encoding) + '\n')
  }
  await out.flush()
}

/** `key<TAB>value` per pair (a key alone when it has no values), or JSON lines `[key, [values]]`. */
async function printGroups(groups: Iterable<[Uint8Array | string, Iterable<Uint8Array>]>, o: OutputOptions): Promise<void> {
  const out = new Out()
  for (const [k, vs] of groups) {
    const key = typeof k === 'string' ? Buffer.from(k, 'utf8') : k
    if (o.json) {
      const list = Array.from(vs, (v) => encodeOut(v, o.encoding))
      await out.write(JSON.stringify([typeof k === 'string' ? k : encodeOut(key, o.encoding), list]) + '\n')
      continue
    }
    const kOut = typeof k === 'string' || o.encoding === 'utf8' ? key : Buffer.from(encodeOut(key, o.encoding))
    let any = false
    for (const v of vs) {
      any = true
      await out.write(kOut)
      await out.write(TAB)
      await out.write(o.encoding === 'utf8' ? v : encodeOut(v, o.encoding))
      await out.write(NL)
    }
    if (!any) {
      await out.write(kOut)
      await out.write(NL)
    }
  }
  await out.flush()
}


interface CreateOptions {
  json?: boolean
  uniqueItems?: boolean
  compress: boolean
  encoding: Encoding
  progress?: boolean
  maxRecord: number
}

/** Adds one JSON line `[key, [values]]` (or `[key, value]`) to the constructor. */
function addJsonLine(c: DiscoDBConstructor, text: string, lineNo: number, enc: Encoding): void {
  if (text.trim() === '') return
  let item: unknown
  try {
    item = JSON.parse(text)
  } catch {
    throw new DiscoError('CLI_BAD_INPUT', `line ${lineNo}: expected JSON [key, [values...]], found ${JSON.stringify(text.slice(0, 60))}`)
  }
  const bad = (): DiscoError => new DiscoError('CLI_BAD_INPUT', `line ${lineNo}: expected [key, [values...]] with string key and values, found ${text.slice(0, 60)}`)
  if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string') throw bad()
  const [k, vs] = item as [string, unknown]
  const values = typeof vs === 'string' ? [vs] : vs
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw bad()
  c.add(decodeArg(k, enc, `line ${lineNo}`), (values as string[]).map((v) => decodeArg(v, enc, `line ${lineNo}`)))
}

/** Reads TSV or JSON lines from a file or stdin into a constructor, with a progress line on a TTY. */
async function readInput(c: DiscoDBConstructor, input: string | undefined, o: CreateOptions): Promise<void> {
  const fromStdin = input === undefined || input === '-'
  let total: number | undefined
  if (!fromStdin) {
    const fd = openSync(input, 'r') // fails early (IO_ENOENT) before any work
    total = fstatSync(fd).size
    closeSync(fd)
  }
  const progress = new Progress('ddb create', o.progress !== false && Boolean(process.stderr.isTTY))
  const stream = fromStdin ? process.stdin : createReadStream(input, { highWaterMark: 1 << 20 })
  // One splitter for every line reader: linear however long a line is, and bounded by --max-record.
  const split = new LineSplitter(o.maxRecord, throwTooLong(fromStdin ? 'stdin' : input, o.maxRecord))
  const sink: LineSink = o.json
    ? (b, s, e) => addJsonLine(c, b.toString('utf8', s, e), split.lines, o.encoding)
    : (b, s, e) => { addTsvLines(c, b, s, e, true) }
  let done = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    done += chunk.length
    split.push(chunk, sink)
    progress.update(done, total, `${c.pairCount.toLocaleString('en')} pairs`)
  }
  split.end(sink)
  progress.done()
}

function openDb(path: string): DiscoDB {
  return DiscoDB.load(path)
}

function readView(file: string, enc: Encoding): Uint8Array[] {
  const text = readFileSync(file)
  const out: Uint8Array[] = []
  let start = 0
  while (start < text.length) {
    let nl = text.indexOf(10, start)
    if (nl < 0) nl = text.length
    const line = text.subarray(start, nl > start && text[nl - 1] === 13 ? nl - 1 : nl)
    out.push(enc === 'utf8' ? line : decodeArg(line.toString('latin1'), enc, `--view ${file}`))
    start = nl + 1
  }
  return out
}

/** The `ddb` program (exported for tests and for embedding). */
export function buildProgram(): Command {
  const program = productProgram(new Command('ddb'))
    .description('Build and query DiscoDB files (the original C library\'s format).')

  program.command('create').description('build a DiscoDB from TSV lines key<TAB>value (or JSON lines), written atomically')
    .argument('<out>', 'the .ddb file to write')
    .argument('[in]', "input file; stdin when absent or '-'")
    .option('--json', 'input lines are JSON arrays [key, [values...]]')
    .option('--unique-items', 'drop repeated (key, value) pairs instead of making a multiset')
    .option('--no-compress', 'never compress values (the original compresses at ≥ 5 MiB of unique values)')
    .option('--no-progress', 'no progress line (it is shown only on a terminal anyway)')
    .option('--max-record <size>', 'longest input line (64KB, 1MiB, …; a plain number is MiB); a longer one is DDFS_RECORD_TOO_LARGE', (v) => parseSize(v, '--max-record'), DEFAULT_MAX_LINE)
    .addOption(encodingOption())
    .addHelpText('after', `
A TSV line is key<TAB>value (the value may contain tabs); a line without a tab adds the key
with no values; empty lines are skipped; a trailing \\r is dropped. With --encoding hex|base64,
--json strings are decoded from that encoding (TSV input is always raw bytes).

Example:
  printf 'pets\\tdog\\npets\\tcat\\n' | ddb create pets.ddb`)
    .action(async (out: string, input: string | undefined, o: CreateOptions) => {
      const c = new DiscoDBConstructor()
      await readInput(c, input, o)
      const bytes = c.finalizeBytes({ disableCompression: !o.compress, uniqueItems: Boolean(o.uniqueItems) })
      writeFileAtomicSync(out, bytes)
      if (DiscoDB.loads(bytes).header.multiset) {
        process.stderr.write(`ddb: note: ${out} is a multiset: some key holds the same value more than once. Lookups work, but queries fail with DDB_MULTISET_QUERY; rebuild with --unique-items to drop the repeats\n`)
      }
    })

  program.command('info').description('header fields and features of a DiscoDB')
    .argument('<db>', 'the .ddb file')
    .option('--json', 'one JSON object')
    .addHelpText('after', '\nExample:\n  ddb info pets.ddb --json')
    .action((path: string, o: { json?: boolean }) => {
      const db = openDb(path)
      const h = db.header
      const u64 = (at: number): number => {
        const dv = new DataView(db.dumps().buffer, db.dumps().byteOffset)
        return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32
      }
      const info = {
        size: h.size, numKeys: h.numKeys, numUniqueValues: h.numUniqueValues, numValues: h.numValues,
        flags: h.flags, hashed: h.hashed, multiset: h.multiset, compressed: h.compressed,
        key2valuesOffs: h.key2valuesOffs, id2valueOffs: h.id2valueOffs, hashOffs: h.hashOffs, codebookOffs: h.codebookOffs,
        // Features as the original's ddb_features: TOC spans of the key and value sections.
        itemsSize: u64(h.key2valuesOffs + 8 * h.numKeys) - u64(h.key2valuesOffs),
        valuesSize: u64(h.id2valueOffs + 8 * h.numUniqueValues) - u64(h.id2valueOffs),
      }
      if (o.json) writeOut(JSON.stringify(info) + '\n')
      else writeOut(Object.entries(info).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n')
    })

  const listing = (name: string, description: string, pick: (db: DiscoDB) => Inquiry): void => {
    program.command(name).description(description)
      .argument('<db>', 'the .ddb file')
      .option('--json', 'one JSON string per line')
      .addOption(encodingOption())
      .addHelpText('after', `\nExample:\n  ddb ${name} pets.ddb --json --encoding base64`)
      .action(async (path: string, o: OutputOptions) => printValues(pick(openDb(path)), o))
  }
  listing('keys', 'every key, in stored order', (db) => db.keys())
  listing('values', 'every value of every key, keys in stored order (duplicates kept)', (db) => db.values())
  listing('unique-values', 'every distinct value, in value-ID order', (db) => db.uniqueValues())

  program.command('get').description("the values of one key, in value-ID order (error CLI_KEY_NOT_FOUND when absent)")
    .argument('<db>', 'the .ddb file')
    .argument('<key>', 'the key (in --encoding)')
    .option('--json', 'one JSON string per line')
    .addOption(encodingOption())
    .addHelpText('after', '\nExample:\n  ddb get pets.ddb pets')
    .action(async (path: string, key: string, o: OutputOptions) => {
      const db = openDb(path)
      const vals = db.get(decodeArg(key, o.encoding, 'key'))
      if (!vals) throw new DiscoError('CLI_KEY_NOT_FOUND', `key ${JSON.stringify(key)} is not in ${path}`)
      await printValues(vals, o)
    })

  program.command('query').description("values matching a query: terms with & (and), | (or), ~ (not), * (dereference), parentheses")
    .argument('<db>', 'the .ddb file')
    .argument('<query>', "e.g. 'pets & ~aquatic' (in --encoding)")
    .option('--view <file>', 'only values listed in this file (one per line, in --encoding)')
    .option('--count', 'print only the number of results')
    .option('--json', 'one JSON string per line')
    .addOption(encodingOption())
    .addHelpText('after', "\nExample:\n  ddb query pets.ddb 'pets & ~aquatic' --count")
    .action(async (path: string, q: string, o: OutputOptions & { view?: string; count?: boolean }) => {
      const db = openDb(path)
      const res = db.query(decodeArg(q, o.encoding, 'query'), o.view === undefined ? undefined : { view: readView(o.view, o.encoding) })
      if (o.count) writeOut(`${res.count()}\n`)
      else await printValues(res, o)
    })

  program.command('metaquery').description('expand dereferences: each expanded query with its values (query<TAB>value lines)')
    .argument('<db>', 'the .ddb file')
    .argument('<query>', "e.g. '*A | B' (in --encoding)")
    .option('--json', 'one JSON array [query, [values...]] per line')
    .addOption(encodingOption())
    .addHelpText('after', "\nExample:\n  ddb metaquery deref.ddb '*A | B'")
    .action(async (path: string, q: string, o: OutputOptions) => {
      const db = openDb(path)
      const groups = [...db.metaquery(decodeArg(q, o.encoding, 'query'))].map(([mq, vs]): [string, Inquiry] => [String(mq as Q), vs])
      await printGroups(groups, o)
    })

  program.command('items').description('every key with its values: key<TAB>value lines (a key alone when it has none)')
    .argument('<db>', 'the .ddb file')
    .option('--json', 'one JSON array [key, [values...]] per line (the input form of create --json)')
    .addOption(encodingOption())
    .addHelpText('after', '\nExample:\n  ddb items pets.ddb --json | ddb create --json copy.ddb')
    .action(async (path: string, o: OutputOptions) => printGroups(openDb(path).items(), o))

  return program
}

/** True when this file is the process entry (also through an npm bin symlink). */
function isMain(): boolean {
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href
  } catch {
    return false
  }
}

if (isMain()) await runCli('ddb', buildProgram())
