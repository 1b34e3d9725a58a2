// The HTTP API on a real listening server (127.0.0.1, random port): answers equal the library's,
// bad parameters get 400 with a code (never 500), the bearer token is enforced.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { openStore, Model, funnel, retention, trends } from '#src/index.js'
import { createServer } from '#src/server/app.js'
import { seededModel } from './seed.js'

test('analytics HTTP API', async (t) => {
  const { dir } = await seededModel(t)
  const ddfs = openStore(join(dir, 'store'))
  const app = await createServer({ ddfs })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const base = `http://127.0.0.1:${port}`
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const get = async (path: string, init?: RequestInit): Promise<{ status: number; body: any }> => {
    const r = await fetch(base + path, init)
    return { status: r.status, body: (r.headers.get('content-type') ?? '').includes('json') ? await r.json() : await r.text() }
  }
  const post = (path: string, body: unknown) => get(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const model = await Model.open(ddfs, 'analytics:model')

  await t.test('questions equal the library answers (GET and POST)', async () => {
    const info = await get('/api/info')
    assert.equal(info.status, 200)
    assert.equal(info.body.users, (await model.info()).users)
    assert.match(info.body.lastDay, /^\d{4}-\d\d-\d\d$/)
    const f = await get('/api/funnel?steps=signup&steps=view&steps=purchase&mode=strict&window=3d')
    assert.equal(f.status, 200)
    assert.deepEqual(f.body, await funnel(model, { steps: ['signup', 'view', 'purchase'], mode: 'strict', window: '3d' }))
    const fp = await post('/api/funnel', { steps: ['view', '注文'], breakdown: 'plan' })
    assert.deepEqual(fp.body, await funnel(model, { steps: ['view', '注文'], breakdown: 'plan' }))
    const r = await get('/api/retention?start=view&return=purchase&period=day&last=12&mode=on-or-after')
    assert.deepEqual(r.body, await retention(model, { start: 'view', return: 'purchase', period: 'day', last: 12, mode: 'on-or-after' }))
    const tr = await get('/api/trends?measures=total,unique,wau&period=week&last=8')
    assert.deepEqual(tr.body, await trends(model, { measures: ['total', 'unique', 'wau'], period: 'week', last: 8 }))
  })

  await t.test('segments: preview, save, list, use', async () => {
    const pv = await post('/api/segments/preview', { rows: ['signup', 'country=US OR country=FI'] })
    assert.equal(pv.status, 200)
    assert.ok(pv.body.size > 0)
    const saved = await post('/api/segments', { name: 'usfi', label: 'US+FI', rows: ['signup', 'country=US OR country=FI'] })
    assert.equal(saved.body.size, pv.body.size)
    assert.deepEqual((await get('/api/segments')).body.segments.map((s: { name: string }) => s.name), ['usfi'])
    const f = await get('/api/funnel?steps=signup&steps=view&segments=usfi')
    assert.equal(f.body.results.length, 2)
    assert.equal(f.body.results[1].segment.size, pv.body.size)
    assert.equal((await get('/api/segments/preview?q=' + encodeURIComponent('signup & ~view'))).status, 200)
  })

  await t.test('jobs and tags', async () => {
    const jobs = await get('/api/jobs')
    assert.equal(jobs.body.jobs.length, 1)
    const name = jobs.body.jobs[0].name
    assert.equal(jobs.body.jobs[0].status, 'ready')
    assert.equal((await get('/api/jobs/' + encodeURIComponent(name))).body.status, 'ready')
    const ev = await get('/api/jobs/' + encodeURIComponent(name) + '/events')
    assert.ok(ev.body.events.length > 0)
    assert.ok((await get('/api/tags?prefix=analytics')).body.tags.includes('analytics:model'))
    assert.equal((await get('/api/tags/events:seed')).body.urls.length, 2)
    assert.equal((await get('/api/tags/nope:nope')).status, 404)
    assert.equal((await get('/api/jobs/nope@1:2:3')).status, 404)
  })

  await t.test('bad parameters: 400 with a coded JSON error, never 500', async () => {
    const bad: [string, string][] = [
      ['/api/funnel', 'ANALYTICS_BAD_PARAM'],
      ['/api/funnel?steps=a&mode=upside', 'ANALYTICS_BAD_PARAM'],
      ['/api/funnel?steps=a&window=forever', 'ANALYTICS_BAD_PARAM'],
      ['/api/funnel?steps=a&from=2026-13-01', 'ANALYTICS_BAD_PARAM'],
      ['/api/funnel?steps=a&mode=bitdeli&breakdown=plan', 'ANALYTICS_BAD_PARAM'],
      ['/api/retention', 'ANALYTICS_BAD_PARAM'],
      ['/api/retention?start=a&period=year', 'ANALYTICS_BAD_PARAM'],
      ['/api/retention?start=a&last=-3', 'ANALYTICS_BAD_PARAM'],
      ['/api/trends?measures=dau', 'ANALYTICS_BAD_PARAM'],
      ['/api/trends?from=2026-10-10&to=2026-10-01', 'ANALYTICS_BAD_PARAM'],
      ['/api/segments/preview?q=' + encodeURIComponent('a & ('), 'ANALYTICS_BAD_SEGMENT'],
      ['/api/segments/preview', 'ANALYTICS_BAD_SEGMENT'],
      ['/api/jobs/..%2F..%2Fetc', 'ANALYTICS_BAD_PARAM'],
      ['/api/jobs/x/events?offset=-1', 'ANALYTICS_BAD_PARAM'],
      ['/api/tags/bad%20tag', 'DDFS_BAD_TAG_NAME'],
    ]
    for (const [path, code] of bad) {
      const r = await get(path)
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.error.code, code, path)
    }
    const r = await get('/api/funnel', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"steps": [' })
    assert.equal(r.status, 400)
    assert.equal(r.body.error.code, 'HTTP_BAD_REQUEST')
    const arr = await post('/api/trends', [1, 2])
    assert.equal(arr.body.error.code, 'ANALYTICS_BAD_PARAM')
    const types = await post('/api/funnel', { steps: 'signup', window: {} })
    assert.equal(types.status, 400)
    assert.equal((await get('/api/funnel?steps=a&segments=ghost')).status, 404)
    assert.equal((await get('/api/nothing')).status, 404)
  })

  await t.test('the page and its vendored chart library are served', async () => {
    const page = await get('/')
    assert.equal(page.status, 200)
    assert.match(page.body, /<script src="\/vendor\/uplot.js">/)
    assert.doesNotMatch(page.body, /https?:\/\//, 'no CDN')
    const js = await get('/vendor/uplot.js')
    assert.equal(js.status, 200)
    assert.match(js.body, /uPlot/)
    assert.equal((await get('/vendor/other.js')).status, 404)
  })

  await t.test('a bearer token guards the API', async () => {
    const guarded = await createServer({ ddfs, token: 's3cret' })
    await guarded.listen({ host: '127.0.0.1', port: 0 })
    t.after(() => guarded.close())
    const gbase = `http://127.0.0.1:${(guarded.server.address() as { port: number }).port}`
    const no = await fetch(gbase + '/api/info')
    assert.equal(no.status, 401)
    assert.equal(((await no.json()) as { error: { code: string } }).error.code, 'HTTP_UNAUTHORIZED')
    assert.equal((await fetch(gbase + '/api/info', { headers: { authorization: 'Bearer wrong' } })).status, 401)
    assert.equal((await fetch(gbase + '/api/info', { headers: { authorization: 'Bearer s3cret' } })).status, 200)
    assert.equal((await fetch(gbase + '/')).status, 200)
  })
})
