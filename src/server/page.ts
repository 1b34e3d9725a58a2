// The one web page of `analytics serve`: plain HTML + JS over the JSON API, uPlot (vendored from
// node_modules at /vendor) for the trends line chart; no framework, no CDN. Elements the browser
// test reads carry data-testid attributes.
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>disco-inferno analytics</title>
<link rel="stylesheet" href="/vendor/uplot.css">
<script src="/vendor/uplot.js"></script>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; color: #222; background: #f6f6f4; }
  header { background: #223; color: #eee; padding: 10px 16px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; padding: 12px; }
  section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  label { margin-right: 8px; white-space: nowrap; }
  input, select, textarea, button { font: inherit; }
  input[type=text] { width: 9em; }
  textarea { width: 100%; height: 4.5em; }
  .bar { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
  .bar .fill { background: #4a7bd0; height: 18px; min-width: 1px; }
  .bar .name { width: 11em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  table { border-collapse: collapse; font-size: 12px; }
  td, th { border: 1px solid #e3e3e3; padding: 2px 5px; text-align: right; }
  .err { color: #b00; }
  .side { margin-top: 6px; }
  .side h3 { font-size: 13px; margin: 6px 0 2px; }
</style>
</head>
<body>
<header><h1>disco-inferno analytics</h1><span id="info" data-testid="info">loading…</span>
  <label>segments <select id="segsel" multiple size="1" data-testid="segment-select"></select></label></header>
<main>
<section id="funnel"><h2>Funnel</h2>
  <div>steps (one per line)<textarea id="f-steps" data-testid="funnel-steps"></textarea></div>
  <label>mode <select id="f-mode" data-testid="funnel-mode"><option>ordered</option><option>strict</option><option>any-order</option><option>bitdeli</option></select></label>
  <label>window <input id="f-window" type="text" value="14d" data-testid="funnel-window"></label>
  <label>from <input id="f-from" type="date"></label><label>to <input id="f-to" type="date"></label>
  <button id="f-run" data-testid="funnel-run">Run</button>
  <div id="f-out" data-testid="funnel-out"></div>
</section>
<section id="retention"><h2>Retention</h2>
  <label>start <select id="r-start" data-testid="retention-start"></select></label>
  <label>return <select id="r-return"></select></label>
  <label>cohort <select id="r-cohort"><option>recurring</option><option>first-time</option></select></label>
  <label>period <select id="r-period" data-testid="retention-period"><option>week</option><option>day</option><option>month</option></select></label>
  <label>mode <select id="r-mode"><option>on</option><option>on-or-after</option><option>bitdeli</option></select></label>
  <label>last <input id="r-last" type="text" value="8" style="width:3em"></label>
  <button id="r-run" data-testid="retention-run">Run</button>
  <div id="r-out" data-testid="retention-out"></div>
</section>
<section id="trends"><h2>Trends</h2>
  <label>event <select id="t-event" data-testid="trends-event"><option value="">(all events)</option></select></label>
  <label>measure <select id="t-measure" data-testid="trends-measure"><option>unique</option><option>total</option><option>wau</option><option>mau</option></select></label>
  <label>period <select id="t-period"><option>day</option><option>week</option><option>month</option></select></label>
  <label>last <input id="t-last" type="text" value="30" style="width:3em" data-testid="trends-last"></label>
  <button id="t-run" data-testid="trends-run">Run</button>
  <div id="t-chart"></div>
  <div id="t-out" data-testid="trends-out"></div>
</section>
<section id="segments"><h2>Segment builder</h2>
  <div>rows, ANDed (e.g. <code>signup</code>, <code>country=US OR country=FI</code>, <code>NOT plan=free</code>)<textarea id="s-rows" data-testid="segment-rows"></textarea></div>
  <label>name <input id="s-name" type="text" data-testid="segment-name"></label>
  <label>label <input id="s-label" type="text"></label>
  <button id="s-preview" data-testid="segment-preview">Size</button>
  <button id="s-save" data-testid="segment-save">Save</button>
  <span id="s-size" data-testid="segment-size"></span>
  <div id="s-list" data-testid="segment-list"></div>
</section>
<section id="jobs"><h2>Jobs</h2><button id="j-run">Refresh</button><div id="j-out" data-testid="jobs-out"></div></section>
</main>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token')
const $ = (id) => document.getElementById(id)
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
async function api(path, body) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = 'Bearer ' + token
  const r = await fetch('/api/' + path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) })
  const j = await r.json()
  if (!r.ok) throw new Error(j.error.code + ': ' + j.error.message)
  return j
}
function fail(out, e) { out.innerHTML = '<div class="err" data-testid="error">' + esc(e.message) + '</div>' }
const segments = () => [...$('segsel').selectedOptions].map((o) => o.value).slice(0, 2)
const sideTitle = (s) => s.segment ? 'segment ' + s.segment.label + ' (' + s.segment.size + ' users)' : 'all users'
const pct = (x) => x === null ? '–' : (x * 100).toFixed(1) + '%'
const dur = (ms) => ms === null ? '–' : ms < 3600e3 ? (ms / 60e3).toFixed(1) + ' min' : ms < 86400e3 ? (ms / 3600e3).toFixed(1) + ' h' : (ms / 86400e3).toFixed(1) + ' d'

async function runFunnel() {
  const out = $('f-out')
  try {
    const steps = $('f-steps').value.split('\\n').map((s) => s.trim()).filter(Boolean)
    const q = { steps, mode: $('f-mode').value, window: $('f-window').value, segments: segments() }
    if ($('f-from').value) q.from = $('f-from').value
    if ($('f-to').value) q.to = $('f-to').value
    const a = await api('funnel', q)
    out.innerHTML = a.results.map((side, si) => {
      const top = Math.max(1, side.steps[0].users)
      return '<div class="side"><h3>' + esc(sideTitle(side)) + '</h3>' + side.steps.map((s, k) =>
        '<div class="bar"><span class="name" title="' + esc(s.event) + '">' + (k + 1) + '. ' + esc(s.event) + '</span>' +
        '<span class="fill" style="width:' + (260 * s.users / top).toFixed(1) + 'px"></span>' +
        '<span data-testid="funnel-users-' + si + '-' + k + '">' + s.users + '</span> <span>' + pct(s.conversion) + '</span>' +
        ' <small>median ' + dur(s.medianMs) + '</small></div>').join('') + '</div>'
    }).join('')
  } catch (e) { fail(out, e) }
}

async function runRetention() {
  const out = $('r-out')
  try {
    const a = await api('retention', { start: $('r-start').value, return: $('r-return').value, cohort: $('r-cohort').value,
      period: $('r-period').value, mode: $('r-mode').value, last: $('r-last').value, segments: segments() })
    out.innerHTML = a.results.map((side, si) => {
      const head = '<tr><th>cohort</th><th>size</th>' + (side.rows[0] ? side.rows[0].cells.map((_, n) => '<th>' + (a.mode === 'bitdeli' ? '+' + (n + 1) : n) + '</th>').join('') : '') + '</tr>'
      const rows = side.rows.map((r, ri) => '<tr><th>' + esc(r.label) + '</th><td data-testid="retention-size-' + si + '-' + ri + '">' + r.size + '</td>' +
        r.cells.map((c, n) => {
          const rate = r.rates[n]
          const bg = rate === null ? '#fafafa' : 'rgba(74,123,208,' + Math.min(1, rate).toFixed(3) + ')'
          return '<td style="background:' + bg + '" title="' + (c === null ? '' : c + ' users') + '" data-testid="retention-cell-' + si + '-' + ri + '-' + n + '">' + (c === null ? '' : pct(rate)) + '</td>'
        }).join('') + '</tr>').join('')
      return '<div class="side"><h3>' + esc(sideTitle(side)) + '</h3><table>' + head + rows + '</table></div>'
    }).join('')
  } catch (e) { fail(out, e) }
}

let chart
async function runTrends() {
  const out = $('t-out')
  try {
    const measure = $('t-measure').value
    const q = { measures: [measure], period: $('t-period').value, last: $('t-last').value, segments: segments() }
    if ($('t-event').value) q.event = $('t-event').value
    const a = await api('trends', q)
    const xs = a.periods.map((p) => Date.parse((p.period.length === 7 ? p.period + '-01' : p.period) + 'T00:00:00Z') / 1000)
    const data = [xs, ...a.results.map((s) => s.series[0] ? s.series[0].values : xs.map(() => 0))]
    const colors = ['#4a7bd0', '#d0744a']
    if (chart) chart.destroy()
    chart = new uPlot({ width: 500, height: 220, series: [{}, ...a.results.map((s, i) => ({ label: s.segment ? s.segment.name : 'all users', stroke: colors[i] }))], scales: { x: { time: true } } }, data, $('t-chart'))
    out.innerHTML = '<table><tr><th>period</th>' + a.results.map((s) => '<th>' + esc(sideTitle(s)) + '</th>').join('') + '</tr>' +
      a.periods.map((p, i) => '<tr><th>' + esc(p.label) + '</th>' + a.results.map((s, si) => '<td data-testid="trends-value-' + si + '-' + i + '">' + (s.series[0] ? s.series[0].values[i] : 0) + '</td>').join('') + '</tr>').join('') + '</table>'
  } catch (e) { fail(out, e) }
}

const rows = () => $('s-rows').value.split('\\n').map((s) => s.trim()).filter(Boolean)
async function previewSegment() {
  try { $('s-size').textContent = (await api('segments/preview', { rows: rows() })).size + ' users' } catch (e) { $('s-size').textContent = e.message }
}
async function saveSeg() {
  try {
    const s = await api('segments', { name: $('s-name').value, label: $('s-label').value || undefined, rows: rows() })
    $('s-size').textContent = 'saved ' + s.name + ': ' + s.size + ' users'
    await loadSegments()
  } catch (e) { $('s-size').textContent = e.message }
}
async function loadSegments() {
  const { segments: list } = await api('segments')
  const keep = new Set(segments())
  $('segsel').innerHTML = list.map((s) => '<option value="' + esc(s.name) + '"' + (keep.has(s.name) ? ' selected' : '') + '>' + esc(s.label) + ' (' + s.size + ')</option>').join('')
  $('segsel').size = Math.max(1, Math.min(4, list.length))
  $('s-list').innerHTML = '<table><tr><th>name</th><th>label</th><th>size</th></tr>' + list.map((s) => '<tr><td>' + esc(s.name) + '</td><td>' + esc(s.label) + '</td><td>' + s.size + '</td></tr>').join('') + '</table>'
}
async function loadJobs() {
  const out = $('j-out')
  try {
    const { jobs } = await api('jobs')
    out.innerHTML = '<table><tr><th>created</th><th>status</th><th>job</th><th>tasks</th><th>records</th></tr>' + jobs.slice(0, 20).map((j) =>
      '<tr><td>' + esc(j.created.slice(0, 19)) + '</td><td>' + esc(j.status) + '</td><td style="text-align:left">' + esc(j.name) + '</td><td>' + j.tasks.done + '/' + (j.tasks.map + j.tasks.reduce) + '</td><td>' + j.records + '</td></tr>').join('') + '</table>'
  } catch (e) { fail(out, e) }
}

async function init() {
  try {
    const info = await api('info')
    $('info').textContent = info.users + ' users · ' + info.events + ' events · ' + (info.firstDay || '–') + ' … ' + (info.lastDay || '–') + ' · ' + info.batches + ' batch(es)'
    const names = Object.entries(info.eventNames).sort((a, b) => b[1].users - a[1].users).map(([n]) => n)
    const opts = names.map((n) => '<option>' + esc(n) + '</option>').join('')
    $('r-start').innerHTML = opts; $('r-return').innerHTML = opts
    $('t-event').innerHTML += opts
    $('f-steps').value = names.slice(0, 3).join('\\n')
    await loadSegments()
  } catch (e) { $('info').textContent = e.message; return }
  await Promise.all([runFunnel(), runRetention(), runTrends(), loadJobs()])
  document.body.dataset.ready = '1'
}
$('f-run').onclick = runFunnel; $('r-run').onclick = runRetention; $('t-run').onclick = runTrends
$('s-preview').onclick = previewSegment; $('s-save').onclick = saveSeg; $('j-run').onclick = loadJobs
$('segsel').onchange = () => Promise.all([runFunnel(), runRetention(), runTrends()])
init()
</script>
</body>
</html>
`
