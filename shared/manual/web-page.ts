/**
 * The small page served at GET /: a form for POST /sync and a job follower. Self-contained (no
 * external assets); every value is rendered with textContent, never innerHTML.
 */
export const WEB_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cdc-mirror · manual sync</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
  label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
  input, textarea, select { width: 100%; box-sizing: border-box; padding: .4rem; font: inherit; }
  textarea { font-family: ui-monospace, monospace; min-height: 4rem; }
  .row { display: flex; gap: 1rem; } .row > div { flex: 1; }
  button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; cursor: pointer; }
  table { border-collapse: collapse; margin-top: 1rem; width: 100%; }
  td, th { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; font-family: ui-monospace, monospace; }
  .error { color: #a00; white-space: pre-wrap; } #summary { margin-top: 1rem; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>Manual sync</h1>
<p>Copy the rows you name from an online table to its offline twin. Run a dry run first.</p>
<form id="form">
  <div class="row">
    <div><label for="source">Source (online database)</label><input id="source" required placeholder="shop_online"></div>
    <div><label for="table">Table</label><input id="table" required placeholder="shop.t_config"></div>
  </div>
  <label for="where">Condition</label>
  <textarea id="where" required placeholder="id IN (100, 101) OR id &lt; 10"></textarea>
  <div class="row">
    <div><label for="mode">Mode</label><select id="mode"><option value="upsert">upsert (keep offline-only columns)</option><option value="replace">replace (REPLACE INTO)</option></select></div>
    <div><label for="limit">Row limit</label><input id="limit" type="number" min="1" placeholder="default"></div>
  </div>
  <button type="submit" data-dry="true">Dry run</button>
  <button type="submit" data-dry="false">Copy rows</button>
</form>
<div id="summary"></div>
<table id="preview" hidden><thead><tr><th>key</th><th>action</th><th>changed columns</th></tr></thead><tbody></tbody></table>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const summary = $('summary');
  const tbody = document.querySelector('#preview tbody');
  let dry = true;
  for (const b of document.querySelectorAll('button')) b.addEventListener('click', () => { dry = b.dataset.dry === 'true'; });
  const show = (text, isError) => { summary.textContent = text; summary.className = isError ? 'error' : ''; };
  const cell = (tr, text) => { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); };
  const follow = async (jobId) => {
    for (;;) {
      const res = await fetch('sync/' + encodeURIComponent(jobId));
      const job = await res.json();
      show('job ' + jobId + ': ' + job.status + ' · ' + job.processed + '/' + job.matched + ' rows · inserted ' + job.inserted + ', updated ' + job.updated + ', unchanged ' + job.unchanged + ', conflicts ' + job.conflicts, job.status === 'failed');
      if (job.status !== 'running') return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  $('form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { source: $('source').value, table: $('table').value, where: $('where').value, mode: $('mode').value, dryRun: dry };
    if ($('limit').value) body.limit = Number($('limit').value);
    show('working…');
    tbody.replaceChildren();
    $('preview').hidden = true;
    try {
      const res = await fetch('sync', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const out = await res.json();
      if (!res.ok && res.status !== 202) return show('HTTP ' + res.status + ': ' + (out.error || 'request failed'), true);
      if (out.dryRun) {
        show('dry run: ' + out.matched + ' rows match · would insert ' + out.wouldInsert + ', update ' + out.wouldUpdate + ', unchanged ' + out.unchanged + ', conflicts ' + out.conflicts);
        for (const row of out.preview) {
          const tr = document.createElement('tr');
          cell(tr, JSON.stringify(row.key)); cell(tr, row.action); cell(tr, (row.changedColumns || []).join(', ') || row.conflictWith || '');
          tbody.appendChild(tr);
        }
        $('preview').hidden = out.preview.length === 0;
      } else {
        await follow(out.jobId);
      }
    } catch (err) { show(String(err), true); }
  });
})();
</script>
</body>
</html>
`;
