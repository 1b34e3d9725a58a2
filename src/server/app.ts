// `analytics serve`: a fastify app with a JSON API for every analytics question, for Disco jobs
// and for DDFS tags, plus one web page (src/server/page.ts) that uses it. Bad parameters answer
// 400 with a coded JSON error; only real faults answer 500.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { DiscoError, isDiscoError } from '../errors.js'
import type { Ddfs } from '../ddfs/index.js'
import { jobEvents, jobInfo, listJobs, type DiscoStores } from '../disco/index.js'
import {
  Model, funnel, retention, trends, saveSegment, listSegments, segmentUsers, dayName,
  type FunnelParams, type RetentionParams, type TrendsParams, type SegmentDef,
} from '../analytics/index.js'
import { PAGE } from './page.js'

/** Options of {@link createServer}. */
export interface ServerOptions {
  ddfs: Ddfs
  /** Disco's stores for the jobs API (default: the embedded stores of `ddfs.dir`; a cluster's from openAnalyticsStore). */
  stores?: DiscoStores
  /** The model tag (default `analytics:model`). */
  model?: string
  /** When set, every /api request needs `Authorization: Bearer <token>`. */
  token?: string
  /** Log requests (pino, through fastify). Default false. */
  logger?: boolean
}

/** HTTP status of an error code. */
export function statusOf(code: string): number {
  if (/_(BAD_PARAM|BAD_SEGMENT|QUERY_SYNTAX|QUERY_TOO_LARGE|BAD_TAG_NAME|BAD_ARGUMENT)$/.test(code) || code === 'HTTP_BAD_REQUEST') return 400
  if (/_(NOT_FOUND|NO_MODEL|NO_SEGMENT)$/.test(code)) return 404
  if (code === 'HTTP_UNAUTHORIZED' || code === 'DDFS_UNAUTHORIZED') return 401
  return 500
}

const asArray = (v: unknown): unknown[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v])
const asList = (v: unknown): unknown[] | undefined => {
  if (v === undefined) return undefined
  if (Array.isArray(v)) return v
  return typeof v === 'string' ? v.split(',').filter((s) => s !== '') : [v]
}

/** Question parameters from a query string (GET) or a JSON body (POST). */
function params(req: FastifyRequest): Record<string, unknown> {
  if (req.method === 'POST') {
    const b = req.body
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new DiscoError('ANALYTICS_BAD_PARAM', 'body: expected a JSON object')
    return b as Record<string, unknown>
  }
  const q = { ...(req.query as Record<string, unknown>) }
  if (q.steps !== undefined) q.steps = asArray(q.steps)
  if (q.measures !== undefined) q.measures = asList(q.measures)
  if (q.segments !== undefined) q.segments = asList(q.segments)
  if (q.rows !== undefined) q.rows = asArray(q.rows)
  return q
}

/**
 * The fastify app (not listening yet).
 * @example
 * const app = await createServer({ ddfs: openStore('.disco') })
 * await app.listen({ host: '127.0.0.1', port: 8080 })
 */
export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { ddfs } = opts
  const tag = opts.model ?? 'analytics:model'
  const app = Fastify({ logger: opts.logger ?? false })
  const require = createRequire(import.meta.url)
  const uplotDir = dirname(require.resolve('uplot/package.json'))
  const vendor: Record<string, [string, string]> = {
    'uplot.js': [join(uplotDir, 'dist', 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    'uplot.css': [join(uplotDir, 'dist', 'uPlot.min.css'), 'text/css; charset=utf-8'],
  }

  // The model, reopened when its tag changes (a new batch was built).
  let cached: { key: string; model: Model } | undefined
  const model = async (): Promise<Model> => {
    const key = (await ddfs.exists(tag)) ? JSON.stringify(await ddfs.urls(tag)) : ''
    if (!cached || cached.key !== key) {
      const old = cached?.model
      cached = { key, model: await Model.open(ddfs, tag) }
      // Questions still running on the old model keep its scan workers for a while.
      if (old) setTimeout(() => void old.close(), 60_000).unref()
    }
    return cached.model
  }

  app.addHook('onClose', async () => { await cached?.model.close() })
  app.setErrorHandler((err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    if (isDiscoError(err)) {
      void reply.status(statusOf(err.code)).send({ error: { code: err.code, message: err.message } })
      return
    }
    const e = err as { statusCode?: number; message?: string }
    if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      void reply.status(e.statusCode).send({ error: { code: 'HTTP_BAD_REQUEST', message: e.message ?? 'bad request' } })
      return
    }
    app.log.error(err)
    void reply.status(500).send({ error: { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) } })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'HTTP_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } })
  })
  if (opts.token !== undefined) {
    const want = `Bearer ${opts.token}`
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/api/')) return
      if (req.headers.authorization !== want) {
        await reply.status(401).send({ error: { code: 'HTTP_UNAUTHORIZED', message: 'expected an Authorization: Bearer token' } })
      }
    })
  }

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  app.get('/favicon.ico', async (_req, reply) => reply.status(204).send())
  app.get<{ Params: { file: string } }>('/vendor/:file', async (req, reply) => {
    const v = vendor[req.params.file]
    if (!v) throw new DiscoError('HTTP_NOT_FOUND', `no vendored file ${req.params.file}`)
    return reply.type(v[1]).send(readFileSync(v[0]))
  })

  app.get('/api/info', async () => {
    const info = await (await model()).info()
    return { ...info, firstDay: info.firstDay === null ? null : dayName(info.firstDay), lastDay: info.lastDay === null ? null : dayName(info.lastDay) }
  })
  for (const method of ['GET', 'POST'] as const) {
    app.route({ method, url: '/api/funnel', handler: async (req) => funnel(await model(), params(req) as unknown as FunnelParams) })
    app.route({ method, url: '/api/retention', handler: async (req) => retention(await model(), params(req) as unknown as RetentionParams) })
    app.route({ method, url: '/api/trends', handler: async (req) => trends(await model(), params(req) as unknown as TrendsParams) })
    app.route({
      method, url: '/api/segments/preview',
      handler: async (req) => {
        const p = params(req)
        const def = (p.q !== undefined ? { q: p.q } : { rows: p.rows }) as SegmentDef
        return { size: (await segmentUsers(await model(), def)).size }
      },
    })
  }
  app.get('/api/segments', async () => ({ segments: await listSegments(await model()) }))
  app.post('/api/segments', async (req) => {
    const p = params(req)
    const def = (p.q !== undefined ? { q: p.q } : { rows: p.rows }) as SegmentDef
    if (p.label !== undefined && typeof p.label !== 'string') throw new DiscoError('ANALYTICS_BAD_PARAM', 'label: expected a string')
    return saveSegment(await model(), p.name as string, def, p.label as string | undefined)
  })

  // Disco's job state: the given stores, else the embedded stores of the DDFS directory.
  const jobStore = (): DiscoStores | string => {
    if (opts.stores) return opts.stores
    if (!ddfs.dir) throw new DiscoError('ANALYTICS_STORE_UNSUPPORTED', 'the jobs API on a store without a directory needs its Disco stores (the stores option)')
    return ddfs.dir
  }
  app.get('/api/jobs', async () => ({
    jobs: (await listJobs(jobStore())).map((j) => ({ name: j.name, status: j.status, created: j.created, updated: j.updated, tasks: j.tasks, records: j.records, error: j.error?.code ?? null })),
  }))
  const jobName = (name: string): string => {
    if (!/^[A-Za-z0-9_-]+@[0-9a-f:]+$/.test(name)) throw new DiscoError('ANALYTICS_BAD_PARAM', `job: expected a job name like prefix@…, found ${JSON.stringify(name)}`)
    return name
  }
  app.get<{ Params: { name: string } }>('/api/jobs/:name', async (req) => jobInfo(jobStore(), jobName(req.params.name)))
  app.get<{ Params: { name: string }; Querystring: { offset?: string } }>('/api/jobs/:name/events', async (req) => {
    const off = req.query.offset === undefined ? 0 : Number(req.query.offset)
    if (!Number.isInteger(off) || off < 0) throw new DiscoError('ANALYTICS_BAD_PARAM', `offset: expected a non-negative integer, found ${JSON.stringify(req.query.offset)}`)
    return jobEvents(jobStore(), jobName(req.params.name), off)
  })
  app.get<{ Querystring: { prefix?: string } }>('/api/tags', async (req) => ({ tags: await ddfs.list(req.query.prefix ?? '') }))
  app.get<{ Params: { tag: string } }>('/api/tags/:tag', async (req) => ddfs.get(req.params.tag))
  return app
}
