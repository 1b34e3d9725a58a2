// The dashboard in a real browser: playwright-core drives Debian's chromium (headless, no
// sandbox, no network beyond loopback) against `createServer` on seeded data; the numbers shown
// must equal the API's, before and after changing parameters. Screenshots go to test-artifacts/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { openStore } from '#src/index.js'
import { createServer } from '#src/server/app.js'
import { seededModel } from './seed.js'

/** The page's document, inside functions that run in the browser. */
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } }

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(process.cwd(), 'test-artifacts')

test('dashboard shows the API numbers and follows parameter changes', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (.ci/run installs Debian chromium)` }, async (t) => {
  const { dir } = await seededModel(t)
  const ddfs = openStore(join(dir, 'store'))
  const app = await createServer({ ddfs })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const api = async (path: string, body: unknown) => {
    const r = await fetch(base + '/api/' + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return r.json() as Promise<any>
  }
  mkdirSync(ARTIFACTS, { recursive: true })
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
      '--disable-default-apps', '--disable-sync', '--no-first-run', '--metrics-recording-only', '--disable-extensions'],
  })
  t.after(() => browser.close())
  const page: Page = await browser.newPage({ viewport: { width: 1300, height: 1100 } })
  page.setDefaultTimeout(30_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  // Nothing may leave loopback.
  await page.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()))
  await page.goto(base + '/')
  await page.waitForSelector('body[data-ready="1"]')
  const text = async (id: string) => (await page.getByTestId(id).textContent())?.trim()

  // Funnel: the default steps are the three most common events.
  const steps = (await page.getByTestId('funnel-steps').inputValue()).split('\n')
  assert.equal(steps.length, 3)
  let f = await api('funnel', { steps, mode: 'ordered', window: '14d', segments: [] })
  for (let k = 0; k < 3; k++) assert.equal(await text(`funnel-users-0-${k}`), String(f.results[0].steps[k].users))
  // Retention and trends as first shown.
  const start = await page.getByTestId('retention-start').inputValue()
  const r = await api('retention', { start, return: start, cohort: 'recurring', period: 'week', mode: 'on', last: '8' })
  r.results[0].rows.forEach((row: { size: number }, i: number) => assert.ok(row.size >= 0 && i >= 0))
  for (let i = 0; i < r.results[0].rows.length; i++) assert.equal(await text(`retention-size-0-${i}`), String(r.results[0].rows[i].size))
  let tr = await api('trends', { measures: ['unique'], period: 'day', last: '30' })
  for (let i = 0; i < 30; i++) assert.equal(await text(`trends-value-0-${i}`), String(tr.results[0].series[0].values[i]))
  assert.equal(await page.locator('#t-chart canvas').count() > 0, true, 'uPlot drew the line chart')
  await page.screenshot({ path: join(ARTIFACTS, 'analytics-dashboard.png'), fullPage: true })

  // Change parameters: bitdeli funnel, weekly total trends over 6 weeks.
  await page.getByTestId('funnel-mode').selectOption('bitdeli')
  await page.getByTestId('funnel-run').click()
  f = await api('funnel', { steps, mode: 'bitdeli', window: '14d' })
  await page.waitForFunction((n) => document.querySelector('[data-testid="funnel-users-0-2"]')?.textContent === String(n), f.results[0].steps[2].users)
  for (let k = 0; k < 3; k++) assert.equal(await text(`funnel-users-0-${k}`), String(f.results[0].steps[k].users))
  await page.getByTestId('trends-measure').selectOption('total')
  await page.locator('#t-period').selectOption('week')
  await page.getByTestId('trends-last').fill('6')
  await page.getByTestId('trends-run').click()
  await page.waitForSelector('[data-testid="trends-value-0-5"]')
  await page.waitForFunction(() => !document.querySelector('[data-testid="trends-value-0-6"]'))
  tr = await api('trends', { measures: ['total'], period: 'week', last: '6' })
  for (let i = 0; i < 6; i++) assert.equal(await text(`trends-value-0-${i}`), String(tr.results[0].series[0].values[i]))

  // Segment builder: preview, save, then answer side by side.
  await page.getByTestId('segment-rows').fill('signup\ncountry=US OR country=FI')
  await page.getByTestId('segment-preview').click()
  const pv = await api('segments/preview', { rows: ['signup', 'country=US OR country=FI'] })
  await page.waitForFunction((s) => document.querySelector('[data-testid="segment-size"]')?.textContent === s, `${pv.size} users`)
  await page.getByTestId('segment-name').fill('usfi')
  await page.getByTestId('segment-save').click()
  await page.waitForFunction(() => document.querySelectorAll('#segsel option').length === 1)
  await page.getByTestId('segment-select').selectOption('usfi')
  f = await api('funnel', { steps, mode: 'bitdeli', window: '14d', segments: ['usfi'] })
  await page.waitForSelector('[data-testid="funnel-users-1-0"]')
  for (let k = 0; k < 3; k++) assert.equal(await text(`funnel-users-1-${k}`), String(f.results[1].steps[k].users))
  // A bad parameter shows the coded error.
  await page.getByTestId('funnel-window').fill('soon')
  await page.getByTestId('funnel-mode').selectOption('ordered')
  await page.getByTestId('funnel-run').click()
  await page.waitForSelector('#f-out [data-testid="error"]')
  assert.match((await page.locator('#f-out [data-testid="error"]').textContent()) ?? '', /ANALYTICS_BAD_PARAM/)
  assert.match((await text('jobs-out')) ?? '', /analytics@/)
  await page.screenshot({ path: join(ARTIFACTS, 'analytics-dashboard-changed.png'), fullPage: true })
  assert.deepEqual(errors, [])
})
