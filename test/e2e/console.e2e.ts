import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pipeline, startPipeline } from '../../dev/pipeline';
import { rawConnection } from '../support/raw-connection';
import { eventually, launchBrowser, rows, type Servers, shoot, startServers, writeConfig } from './support';

/**
 * The operator console as an operator uses it: the real manual-sync handler served over HTTP by the local
 * pipeline (binlog capture → cdc-sync handler → offline), driven in headless Chromium. Each flow checks
 * what the page shows and what the offline database holds.
 *
 * Manual sync copies `shop.*` online to `shop_test.*` offline (a rename); CDC applies `shop.*` to
 * `shop.*` offline. `shop.t_bulk` has its own entry with a small chunk size and time budget, so a copy
 * of it runs long enough (and asynchronously) to be watched, cancelled and resumed.
 */
let servers: Servers;
let pipeline: Pipeline;
let browser: Browser;
const batches: { records: number; error?: Error }[] = [];
const BULK_ROWS = 8000;
const XSS = '<img src=x onerror="window.__pwned=1">';

beforeAll(async () => {
  servers = await startServers();
  const { online, offline, dbs } = servers;
  await offline.query('CREATE DATABASE shop_test');
  await offline.query('CREATE TABLE shop_test.t_config LIKE shop.t_config');
  await online.query('CREATE TABLE shop.t_bulk (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  await offline.query('CREATE TABLE shop_test.t_bulk (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  // Offline lacks `extra` (dropped on copy) and holds 5 characters of `name`.
  await online.query(
    'CREATE TABLE shop.t_note (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, extra VARCHAR(10))',
  );
  await offline.query('CREATE TABLE shop_test.t_note (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL)');
  // Rows the manual syncs read: outside the binlog, so the capture never applies them.
  await online.query('SET sql_log_bin = 0');
  const at = "'2026-01-01 00:00:00.000'";
  await online.query(
    `INSERT INTO shop.t_config (id, name, value, price, updated_at) VALUES
      (1, 'feature.a', 'on', 1.00, ${at}), (2, 'feature.b', 'new', 2.00, ${at}), (3, 'feature.x', 'x', 3.00, ${at}),
      (4, 'feature.d', 'same', 4.00, ${at}), (5, 'feature.e', 'five', 5.00, ${at}), (6, 'feature.f', 'six', 6.00, ${at}),
      (8, ?, 'markup', NULL, ${at})`,
    [XSS],
  );
  await online.query(
    `INSERT INTO shop.t_bulk SELECT seq, CONCAT('bulk row ', seq) FROM shop.seq_1_to_${BULK_ROWS}`,
  );
  await online.query("INSERT INTO shop.t_note VALUES (1, 'ok', 'e'), (2, 'much too long', 'e')");
  await online.query('SET sql_log_bin = 1');
  await offline.query(
    `INSERT INTO shop_test.t_config (id, name, value, price, updated_at) VALUES
      (2, 'feature.b', 'old', 2.00, ${at}), (4, 'feature.d', 'same', 4.00, ${at}), (9, 'feature.x', 'nine', 9.00, ${at})`,
  );
  await offline.query("INSERT INTO shop_test.t_note VALUES (7, 'stray')");
  const configPath = writeConfig('console-e2e', {
    databases: {
      shop_online: { role: 'online', url: dbs.online.url },
      shop_offline: { role: 'offline', url: dbs.offline.url },
    },
    cdc: [
      {
        topics: ['dbserver1.shop.t_config', 'dbserver1.shop.t_user', 'dbserver1.shop.t_approval_template'],
        target: 'shop_offline',
      },
    ],
    manual: [
      {
        source: 'shop_online',
        target: 'shop_offline',
        tables: ['shop.t_bulk'],
        schemas: { shop: 'shop_test' },
        chunkSize: 10,
        timeBudgetMs: 300,
        defaultLimit: 10_000,
      },
      { source: 'shop_online', target: 'shop_offline', tables: ['shop.*'], schemas: { shop: 'shop_test' } },
    ],
  });
  pipeline = await startPipeline({
    configPath,
    batchWindowMs: 20,
    onBatch: (b) => batches.push(b),
    onError: (err) => batches.push({ records: 0, error: err }),
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
  await servers?.stop();
});

/** A fresh tab on the console; page errors and CSP violations fail the test that opened it. */
async function open(hash = ''): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(`${pipeline.httpUrl}/${hash}`);
  await page.waitForSelector('body[data-ready]');
  return page;
}

async function close(page: Page): Promise<void> {
  const problems = (page as Page & { problems: string[] }).problems;
  await page.context().close();
  expect(problems).toEqual([]);
}

async function fillSync(page: Page, table: string, where: string, limit = ''): Promise<void> {
  const panel = page.locator('#panel-sync');
  await panel.getByLabel('Table', { exact: true }).fill(table);
  await panel.getByLabel('Condition').fill(where);
  await panel.getByLabel('Row limit').fill(limit);
}

const syncJobs = async (condition: string) =>
  rows<{ job_id: string; status: string }>(
    servers.offline,
    `SELECT job_id, status FROM cdc_mirror.sync_jobs WHERE dry_run = 0 AND condition_text = ${servers.offline.escape(condition)}`,
  );

describe('the operator console', () => {
  it('loads as one page with labelled controls and keyboard tabs', async () => {
    const requests: string[] = [];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    const started = Date.now();
    const answer = await page.goto(`${pipeline.httpUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(answer?.headers()['content-type']).toMatch(/text\/html/);
    // The page, its auth settings and the catalog: no other asset.
    expect(requests).toEqual(['/', '/auth-config', '/catalog']);
    // The catalog fills the form: source, the table list, the offline target and its rename.
    await expect.poll(() => page.locator('#sync-source').inputValue()).toBe('shop_online');
    await page.locator('#sync-table').fill('shop.t_config');
    await expect.poll(() => page.locator('#sync-target').textContent()).toContain('shop_offline');
    expect(await page.locator('#sync-target').textContent()).toContain('shop_test.t_config');
    const options = await page
      .locator('#sync-tables option')
      .evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['shop.t_config', 'shop.t_bulk', 'shop.t_note']));
    // The grammar from the catalog, with examples that fill the condition.
    await page.getByText('What a condition may use').click();
    expect(await page.locator('#grammar-allowed li').count()).toBeGreaterThan(3);
    await page.locator('#grammar-examples button').first().click();
    expect(await page.locator('#sync-where').inputValue()).toBe('id IN (100, 101, 102) OR id < 10');
    // Every control of every section has a label.
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
        .map((el) => el.id),
    );
    expect(unlabelled).toEqual([]);
    await shoot(page, '01-manual-sync-form');
    // Tabs by keyboard: arrows move between sections.
    await page.getByRole('tab', { name: 'Manual sync' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Jobs' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#panel-jobs').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect(await page.getByRole('tab', { name: 'Verify' }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Home');
    expect(await page.locator('#panel-sync').isVisible()).toBe(true);
    expect(page.url()).toMatch(/#sync$/);
    await context.close();
  });

  it('dry run: inserts with their values, updates old → new, conflicts with the holder, unchanged; then confirm and write', async () => {
    const page = await open();
    await fillSync(page, 'shop.t_config', 'id <= 4');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const diff = page.locator('.diff');
    await diff.waitFor();
    const count = (label: string) => diff.locator('.count', { hasText: label }).locator('dd').textContent();
    expect(await count('matched')).toBe('4');
    expect(await count('would insert')).toBe('1');
    expect(await count('would update')).toBe('1');
    expect(await count('unchanged')).toBe('1');
    expect(await count('conflicts')).toBe('1');
    expect(await diff.locator('#diff-shown').textContent()).toContain('Showing all 4 rows');
    const inserts = await diff.locator('table.inserts').textContent();
    expect(inserts).toContain('feature.a');
    expect(inserts).toContain('on');
    const update = diff.locator('table.updates tbody tr');
    expect(await update.count()).toBe(1);
    expect(await update.locator('td').allTextContents()).toEqual(['id=2', 'value', 'old', 'new']);
    expect(await diff.locator('table.conflicts').textContent()).toContain('uk_name held by {"id":"9"}');
    expect(await diff.locator('.keys').textContent()).toBe('id=4');
    await shoot(page, '02-dry-run-diff');

    await page.getByRole('button', { name: 'Write 2 rows…' }).click();
    const confirm = page.locator('.confirm');
    expect(await confirm.locator('h3').textContent()).toBe('Write 2 rows to shop_test.t_config?');
    // Nothing is written before the confirm.
    expect(await rows(servers.offline, 'SELECT id FROM shop_test.t_config ORDER BY id')).toEqual([
      { id: '2' },
      { id: '4' },
      { id: '9' },
    ]);
    // The button that writes is the red one.
    const write = page.getByRole('button', { name: 'Write 2 rows', exact: true });
    expect(await write.getAttribute('class')).toContain('danger');
    await shoot(page, '03-confirm');
    await write.click();
    await page.getByText('Done: 1 inserted, 1 updated.').waitFor();
    expect(await page.locator('.run .badge').first().textContent()).toBe('succeeded');
    await shoot(page, '04-written');
    expect(await rows(servers.offline, 'SELECT id, name, value FROM shop_test.t_config ORDER BY id')).toEqual(
      [
        { id: '1', name: 'feature.a', value: 'on' },
        { id: '2', name: 'feature.b', value: 'new' },
        { id: '4', name: 'feature.d', value: 'same' },
        { id: '9', name: 'feature.x', value: 'nine' },
      ],
    );
    await close(page);
  });

  it('shows values as text, never as markup', async () => {
    const page = await open();
    await fillSync(page, 'shop.t_config', 'id = 8');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.locator('table.inserts').waitFor();
    expect(await page.locator('table.inserts').textContent()).toContain(XSS);
    expect(await page.locator('#sync-out img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    await close(page);
  });

  it('shows the pre-flight warnings of a dry run', async () => {
    const page = await open();
    await fillSync(page, 'shop.t_note', 'id > 0');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const warnings = page.locator('.warnings li');
    await warnings.first().waitFor();
    const byKind = async (kind: string) => page.locator(`.warnings li[data-kind="${kind}"]`).textContent();
    expect(await byKind('dropped-columns')).toContain('extra');
    expect(await byKind('value-too-long')).toContain('id=2');
    expect(await byKind('offline-only-rows')).toContain('id=7');
    await shoot(page, '05-warnings');
    await close(page);
  });

  it('a run the offline table refuses fails with the key and the reason, and nothing of its chunk is written', async () => {
    const page = await open();
    await fillSync(page, 'shop.t_note', 'id > 0');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('button', { name: 'Write 2 rows…' }).click();
    await page.getByRole('button', { name: 'Write 2 rows', exact: true }).click();
    const failed = page.locator('.run .notice.error');
    await failed.waitFor();
    expect(await failed.textContent()).toMatch(/The job failed: .*too long.*name/i);
    expect(await failed.locator('.failed-key').textContent()).toContain('At key: id=2');
    expect(await page.locator('.run .badge').first().textContent()).toBe('failed');
    await shoot(page, '06-run-failed');
    expect(await rows(servers.offline, 'SELECT id FROM shop_test.t_note ORDER BY id')).toEqual([{ id: '7' }]);
    const [job] = await syncJobs('id > 0');
    expect(job?.status).toBe('failed');
    await close(page);
  });

  it('a rejected condition and a condition over the limit show the API’s reason', async () => {
    const page = await open();
    await fillSync(page, 'shop.t_config', 'id = 1; DROP TABLE shop.t_config');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const error = page.locator('#sync-out .notice.error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(
      /^The dry run was refused\. HTTP (400|422): condition rejected: "?;"? is not allowed/,
    );
    await shoot(page, '07-condition-rejected');
    await fillSync(page, 'shop.t_config', 'SLEEP(2) = 0');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await expect.poll(() => error.textContent()).toMatch(/HTTP (400|422): condition rejected: .*SLEEP/i);
    await fillSync(page, 'shop.t_config', 'id <= 4', '1');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await expect
      .poll(() => error.textContent())
      .toMatch(/HTTP 422: the condition matches 4 rows, above the limit of 1/);
    // The form checks what it can before asking.
    await fillSync(page, 'no_schema', '');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await expect.poll(() => error.textContent()).toContain('Give the table as schema.table');
    expect(await page.locator('#sync-table').getAttribute('aria-invalid')).toBe('true');
    await close(page);
  });

  it('a double click makes one job, and a retry after a lost answer makes no second', async () => {
    const page = await open();
    await fillSync(page, 'shop.t_config', 'id = 5');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('button', { name: 'Write 1 row…' }).click();
    await page.getByRole('button', { name: 'Write 1 row', exact: true }).dblclick();
    await page.getByText('Done: 1 inserted, 0 updated.').waitFor();
    expect(await syncJobs('id = 5')).toHaveLength(1);

    // The answer to the first write is lost on the way back: the API made the job, the page never heard.
    const tokens: string[] = [];
    let dropped = false;
    await page.route('**/sync', async (route) => {
      const body = JSON.parse(route.request().postData() ?? '{}') as {
        dryRun?: boolean;
        clientToken?: string;
      };
      if (body.dryRun !== false) return route.continue();
      tokens.push(body.clientToken ?? '');
      if (dropped) return route.continue();
      dropped = true;
      await route.fetch();
      return route.abort('connectionreset');
    });
    await fillSync(page, 'shop.t_config', 'id = 6');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('button', { name: 'Write 1 row…' }).click();
    const write = page.getByRole('button', { name: 'Write 1 row', exact: true });
    await write.click();
    const lost = page.locator('#sync-run-message .notice.error');
    await lost.waitFor();
    expect(await lost.textContent()).toContain('the same request token goes with it');
    expect(await syncJobs('id = 6')).toHaveLength(1);
    await write.click();
    await page.getByText('The API had this request already').waitFor();
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens[1]).toBe(tokens[0]);
    expect(await syncJobs('id = 6')).toHaveLength(1);
    expect(
      await rows(servers.offline, 'SELECT id FROM shop_test.t_config WHERE id IN (5, 6) ORDER BY id'),
    ).toEqual([{ id: '5' }, { id: '6' }]);
    await close(page);
  });

  it('a long job: live progress, cancel, resume', async () => {
    // Offline row 4000 differs (an update) and is held by another transaction: the job writes up to the
    // chunk that holds it and waits there, so its progress can be watched and cancelled at a known point.
    const count = async () =>
      Number(
        (await rows<{ n: string }>(servers.offline, 'SELECT COUNT(*) AS n FROM shop_test.t_bulk'))[0]?.n,
      );
    await servers.offline.query("INSERT INTO shop_test.t_bulk VALUES (4000, 'stale')");
    const locker = await rawConnection(servers.dbs.offline.url);
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM shop_test.t_bulk WHERE id = 4000 FOR UPDATE');
    const page = await open();
    try {
      await fillSync(page, 'shop.t_bulk', 'id > 0');
      await page.getByRole('button', { name: 'Dry run' }).click();
      await page.locator('.diff').waitFor({ timeout: 60_000 });
      expect(await page.locator('#diff-shown').textContent()).toContain('Showing 50 of 8,000 rows');
      await page.getByRole('button', { name: 'Write 8,000 rows…' }).click();
      await page.getByRole('button', { name: 'Write 8,000 rows', exact: true }).click();
      // Asynchronous (202): the page follows the job, which stops at row 4000 while it is held.
      const line = page.locator('.run .job-line');
      await expect
        .poll(() => line.textContent(), { timeout: 30_000 })
        .toMatch(/^3,990 of 8,000 rows · [\d,]+ rows\/s · about .+ left$/);
      expect(await page.locator('.run progress').getAttribute('value')).toBe('3990');
      expect(await page.locator('.run progress').getAttribute('max')).toBe('8000');
      expect(await count()).toBe(3991); // rows 1–3990, and row 4000 as it was
      await shoot(page, '08-job-progress');
      await page.getByRole('button', { name: 'Cancel job' }).click();
      await expect.poll(() => page.locator('.run .badge').first().textContent()).toBe('cancelled');
      // Let go of the row: the job finishes the chunk it was writing, sees the cancel and stops.
      await locker.query('ROLLBACK');
      await eventually(
        () =>
          rows<{ processed: string }>(
            servers.offline,
            "SELECT processed FROM cdc_mirror.sync_jobs WHERE condition_text = 'id > 0' AND source_table = 'shop.t_bulk' AND dry_run = 0",
          ),
        (r) => r[0]?.processed === '4000',
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await count()).toBe(4000);
      expect(await page.getByRole('button', { name: 'Resume job' }).isVisible()).toBe(true);
      await shoot(page, '09-job-cancelled');
      await page.getByRole('button', { name: 'Resume job' }).click();
      await page.getByText('Done: 7,999 inserted, 1 updated.').waitFor({ timeout: 60_000 });
      expect(await count()).toBe(BULK_ROWS);
      expect(await rows(servers.offline, 'SELECT v FROM shop_test.t_bulk WHERE id = 4000')).toEqual([
        { v: 'bulk row 4000' },
      ]);
    } finally {
      await locker.end();
    }
    await close(page);
  });

  it('jobs: filters, a failed job’s key and reason, resume after the fix; a stale job marked and resumed', async () => {
    const page = await open('#jobs');
    const jobs = page.locator('#panel-jobs');
    const list = page.locator('#jobs-list');
    await list.locator('table').waitFor();
    expect(await list.locator('tbody tr').count()).toBeGreaterThanOrEqual(8);
    await jobs.getByLabel('Table').fill('shop.t_note');
    await jobs.getByLabel('Status').selectOption('failed');
    await jobs.getByRole('button', { name: 'Show jobs' }).click();
    await expect.poll(() => list.locator('tbody tr').count()).toBe(1);
    expect(await list.locator('tbody tr').textContent()).toContain('failed');
    await shoot(page, '10-jobs-list');
    await list.getByRole('button', { name: /^Details of job / }).click();
    const detail = page.locator('#job-detail');
    await detail.locator('.fields').waitFor();
    expect(await detail.locator('dd .failed-key').textContent()).toBe('id=2');
    expect(await detail.locator('.error-text').textContent()).toMatch(/too long.*name/i);
    await shoot(page, '11-job-failed-detail');
    // Fix the cause offline, then resume from the saved cursor.
    await servers.offline.query('ALTER TABLE shop_test.t_note MODIFY name VARCHAR(50) NOT NULL');
    await detail.getByRole('button', { name: 'Resume job' }).click();
    await expect
      .poll(() => detail.locator('.badge').first().textContent(), { timeout: 30_000 })
      .toBe('succeeded');
    expect(await rows(servers.offline, 'SELECT id, name FROM shop_test.t_note ORDER BY id')).toEqual([
      { id: '1', name: 'ok' },
      { id: '2', name: 'much too long' },
      { id: '7', name: 'stray' },
    ]);

    // A job whose container died: still "running", no heartbeat for ten minutes.
    const [job] = await syncJobs('id = 5');
    await servers.offline.query(
      "UPDATE cdc_mirror.sync_jobs SET status = 'running', finished_at = NULL, updated_at = NOW(6) - INTERVAL 10 MINUTE WHERE job_id = ?",
      [job?.job_id],
    );
    await jobs.getByLabel('Table').fill('');
    await jobs.getByLabel('Status').selectOption('running');
    await jobs.getByRole('button', { name: 'Show jobs' }).click();
    await expect.poll(() => list.locator('tbody tr').count()).toBe(1);
    expect(await list.locator('tbody tr .badge').allTextContents()).toEqual(['running', 'stale']);
    await list.getByRole('button', { name: /^Details of job / }).click();
    await detail.getByText('the job is stale').waitFor();
    expect(await detail.getByRole('button', { name: 'Cancel job' }).isVisible()).toBe(true);
    await shoot(page, '12-job-stale');
    await detail.getByRole('button', { name: 'Resume job' }).click();
    await expect
      .poll(() => detail.locator('.badge').first().textContent(), { timeout: 30_000 })
      .toBe('succeeded');
    expect((await syncJobs('id = 5'))[0]?.status).toBe('succeeded');
    await close(page);
  });

  it('dead letters: decoded payload, position, retry, bulk retry, discard with a confirm', async () => {
    // Offline `name` narrowed: the CDC rows that follow cannot be applied and are dead-lettered.
    await servers.offline.query('ALTER TABLE shop.t_user MODIFY name VARCHAR(4) NOT NULL');
    await servers.online.query(
      "INSERT INTO shop.t_user (user_no, name) VALUES ('U-10', 'Alexandra'), ('U-11', 'Bartholomew'), ('U-12', 'Christopher'), ('U-13', 'Dorothea')",
    );
    await pipeline.capture.caughtUp();
    await eventually(
      () => rows(servers.offline, "SELECT id FROM cdc_mirror.dead_letters WHERE status = 'open'"),
      (r) => r.length === 4,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; batches: ${JSON.stringify(batches.map((b) => ({ ...b, error: b.error?.message })))}`,
      );
    });
    const page = await open('#dead-letters');
    const letters = page.locator('#panel-dead-letters');
    const cards = page.locator('#dl-list article.dl');
    await expect.poll(() => cards.count()).toBe(4);
    const first = cards.first();
    expect(await first.locator('.position').textContent()).toMatch(/^dbserver1\.shop\.t_user-0@\d+$/);
    expect(await first.locator('.badge').allTextContents()).toEqual(['open', 'value']);
    expect(await first.locator('.error-text').textContent()).toMatch(/name/);
    // The change the Debezium envelope carries, then the whole message, decoded.
    const change = JSON.parse((await first.locator('pre.change').textContent()) ?? '');
    expect(change).toMatchObject({ op: 'c', before: null, after: { user_no: 'U-10', name: 'Alexandra' } });
    await first.getByText('Whole message (decoded JSON)').click();
    const message = JSON.parse((await first.locator('.payload pre').textContent()) ?? '') as {
      schema?: unknown;
      payload?: { after?: { name?: string }; source?: { table?: string } };
    };
    expect(message.schema).toBeDefined();
    expect(message.payload?.source?.table).toBe('t_user');
    expect(message.payload?.after?.name).toBe('Alexandra');
    await shoot(page, '13-dead-letters');

    await servers.offline.query('ALTER TABLE shop.t_user MODIFY name VARCHAR(64) NOT NULL');
    // One retry.
    await first.getByRole('button', { name: 'Retry' }).click();
    await page
      .locator('#dl-result')
      .getByText(/applied: resolved/)
      .waitFor();
    await expect.poll(() => cards.count()).toBe(3);
    // Two by the checkboxes.
    const ids = await cards.evaluateAll((c) => c.map((x) => (x as HTMLElement).dataset.id ?? ''));
    await page.getByLabel(`Select dead letter ${ids[0]}`).check();
    await page.getByLabel(`Select dead letter ${ids[1]}`).check();
    await page.getByRole('button', { name: 'Retry selected (2)' }).click();
    await page.locator('#dl-result').getByText('Retried 2: 2 applied.').waitFor();
    await expect.poll(() => cards.count()).toBe(1);
    // The last one discarded, after the confirm.
    await cards.first().getByRole('button', { name: 'Discard…' }).click();
    const dialog = page.locator('#dl-confirm');
    expect(await dialog.locator('h3').textContent()).toBe(`Discard dead letter #${ids[2]}?`);
    await shoot(page, '14-discard-confirm');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    expect(await dialog.isVisible()).toBe(false);
    expect(await cards.count()).toBe(1);
    await cards.first().getByRole('button', { name: 'Discard…' }).click();
    await dialog.getByRole('button', { name: `Discard #${ids[2]}` }).click();
    await page.locator('#dl-result').getByText(`Dead letter #${ids[2]} discarded.`).waitFor();
    await expect.poll(() => cards.count()).toBe(0);
    expect(await rows(servers.offline, 'SELECT user_no, name FROM shop.t_user ORDER BY user_no')).toEqual([
      { user_no: 'U-10', name: 'Alexandra' },
      { user_no: 'U-11', name: 'Bartholomew' },
      { user_no: 'U-12', name: 'Christopher' },
    ]);
    expect(
      await rows(
        servers.offline,
        'SELECT status, COUNT(*) AS n FROM cdc_mirror.dead_letters GROUP BY status ORDER BY status',
      ),
    ).toEqual([
      { status: 'discarded', n: '1' },
      { status: 'resolved', n: '3' },
    ]);
    // Filters: the discarded one, by status and error class.
    await letters.getByLabel('Status').selectOption('discarded');
    await letters.getByLabel('Error class').selectOption('value');
    await page.getByRole('button', { name: 'Show dead letters' }).click();
    await expect.poll(() => cards.count()).toBe(1);
    expect(await cards.first().locator('.fields').textContent()).toMatch(/discarded by\s*local-dev/);
    await shoot(page, '15-dead-letters-discarded');
    await close(page);
  });

  it('CDC status: applied offsets, source time, lag, recent counts and entries', async () => {
    await servers.online.query("UPDATE shop.t_user SET name = 'Alex' WHERE user_no = 'U-10'");
    await pipeline.capture.caughtUp();
    const page = await open('#status');
    const partitions = page.locator('table.partitions tbody tr');
    await partitions.first().waitFor();
    const positions = await rows<{ topic: string; applied_offset: string }>(
      servers.offline,
      "SELECT topic, applied_offset FROM cdc_mirror.positions WHERE target = 'shop_offline' ORDER BY topic, kafka_partition",
    );
    expect(positions.length).toBeGreaterThan(0);
    const shown = await partitions.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(shown.map((r) => [r[0], r[2]])).toEqual(positions.map((p) => [p.topic, p.applied_offset]));
    const user = shown.find((r) => r[0] === 'dbserver1.shop.t_user');
    expect(user?.[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(user?.[5]).toMatch(/^\d+(\.\d)? (ms|s)$/);
    const counts = await page
      .locator('table.counts-table tbody tr')
      .evaluateAll((trs) =>
        Object.fromEntries(trs.map((tr) => [tr.children[0]?.textContent, tr.children[1]?.textContent])),
      );
    expect(Number(counts.updated)).toBeGreaterThanOrEqual(1);
    expect(Number(counts.inserted)).toBeGreaterThanOrEqual(3);
    expect(await page.locator('.dl-open').textContent()).toBe('No open dead letters.');
    expect(await page.locator('table.entries').textContent()).toContain('enabled');
    await shoot(page, '16-cdc-status');
    await close(page);
  });

  it('verify: the report (missing, extra, differing rows; schema drift with its DDL), then repair', async () => {
    const { online, offline } = servers;
    // Outside the binlog, so the capture does not touch it: the drift stays as planted.
    await online.query('SET sql_log_bin = 0');
    await online.query('CREATE TABLE shop.t_verify (id INT PRIMARY KEY, v VARCHAR(16))');
    await online.query("INSERT INTO shop.t_verify VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')");
    await online.query('SET sql_log_bin = 1');
    await offline.query('CREATE TABLE shop_test.t_verify (id INT PRIMARY KEY, v VARCHAR(8))');
    await offline.query(
      "INSERT INTO shop_test.t_verify VALUES (1, 'a'), (2, 'b'), (3, 'changed'), (4, 'd'), (9, 'stray')",
    );
    const page = await open('#verify');
    const panel = page.locator('#panel-verify');
    await panel.getByLabel('Table', { exact: true }).fill('shop.t_verify');
    await panel.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#verify-summary').waitFor();
    const counts = await panel
      .locator('dl.counts .count')
      .evaluateAll((cs) =>
        Object.fromEntries(
          cs.map((c) => [c.querySelector('dt')?.textContent, c.querySelector('dd')?.textContent]),
        ),
      );
    expect(counts).toMatchObject({
      'rows compared': '5',
      'missing offline': '1',
      'extra offline': '1',
      differing: '1',
      'schema differences': '1',
    });
    const text = (await panel.textContent()) ?? '';
    expect(text).toContain('id=5');
    expect(text).toContain('id=9');
    expect(text).toMatch(/id=3\s*v/);
    expect(text).toMatch(/breaks\s*type · v/);
    expect(text).toMatch(/MODIFY COLUMN `v` varchar\(16\)/i);
    await shoot(page, '22-verify-report');
    await panel.getByLabel('also delete the extra offline rows').check();
    page.once('dialog', (d) => void d.accept());
    await panel.getByRole('button', { name: 'Repair…' }).click();
    await expect.poll(() => page.locator('#verify-repair-result').textContent()).toContain('now equal');
    // VARCHAR(8) holds every online value here: the rows can be repaired though the schema still differs.
    expect(await rows(offline, 'SELECT id, v FROM shop_test.t_verify ORDER BY id')).toEqual(
      await rows(online, 'SELECT id, v FROM shop.t_verify ORDER BY id'),
    );
    await shoot(page, '23-verify-repaired');
    await close(page);
  });

  it('IAM: the page says to use the CLI instead of failing', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.route('**/auth-config', (r) => r.fulfill({ json: { type: 'iam' } }));
    await page.route('**/catalog', (r) => r.fulfill({ status: 403, json: { message: 'Forbidden' } }));
    await page.goto(`${pipeline.httpUrl}/`);
    await page.locator('#iam-message').waitFor();
    expect(await page.locator('#iam-message').textContent()).toBe(
      'This API uses IAM (SigV4): use the CLI npx cdc-mirror …',
    );
    expect(await page.locator('#gate').textContent()).toContain('HTTP 403: Forbidden');
    expect(await page.locator('#main').isVisible()).toBe(false);
    await shoot(page, '17-iam');
    await context.close();
  });

  it('a section whose route the API lacks shows the API’s answer, never a blank screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const missing = (r: import('playwright-core').Route) =>
      r.fulfill({ status: 404, json: { error: 'no such route' } });
    await page.route('**/status', missing);
    await page.route('**/sync?**', missing);
    await page.route('**/dead-letters?**', missing);
    await page.goto(`${pipeline.httpUrl}/#jobs`);
    await expect
      .poll(() => page.locator('#jobs-list').textContent())
      .toBe('Could not list the jobs. HTTP 404: no such route. You can still open a job by its id below.');
    await page.getByRole('tab', { name: 'Dead letters' }).click();
    await expect
      .poll(() => page.locator('#dl-list').textContent())
      .toBe('Could not list the dead letters. HTTP 404: no such route');
    await page.getByRole('tab', { name: 'CDC status' }).click();
    await expect
      .poll(() => page.locator('#status-out').textContent())
      .toBe('Could not read the CDC status. HTTP 404: no such route');
    await page.close();
  });

  it('a catalog the API cannot give is reported, and the page still works', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route('**/catalog', (r) =>
      r.fulfill({
        status: 503,
        json: { error: 'database "shop_offline" could not be reached', requestId: 'r-1' },
      }),
    );
    await page.goto(`${pipeline.httpUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#banner').textContent()).toContain(
      'Could not load the catalog. HTTP 503: database "shop_offline" could not be reached (request id r-1)',
    );
    // The source is typed instead; the dry run goes to the API as usual.
    await page.getByLabel('Source database name').fill('shop_online');
    await fillSync(page, 'shop.t_config', 'id = 1');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.locator('.diff').waitFor();
    expect(await page.locator('.count', { hasText: 'unchanged' }).locator('dd').textContent()).toBe('1');
    await shoot(page, '18-catalog-unavailable');
    await page.close();
  });
});
