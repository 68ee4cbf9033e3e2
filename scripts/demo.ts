/**
 * `npm run demo`: the local pipeline of `npm run dev`, scripted, on throwaway servers (free ports, so it
 * never meets servers you run). Rows change online through real SQL; the binlog is captured as Debezium
 * messages and applied by the cdc-sync handler; a manual sync runs through the HTTP function; at the
 * end offline must equal online, table by table. Exits 0 when it does, 1 when it does not.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { stringify } from 'yaml';
import type { CaptureFormat } from '../dev/capture';
import { createDevSchema, startPipeline } from '../dev/pipeline';
import { DEV_SCHEMA, DEV_TABLES } from '../dev/schema';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { rawConnection } from '../test/support/raw-connection';

const format = (process.argv.find((a) => a.startsWith('--format='))?.slice(9) ?? 'debezium') as CaptureFormat;

function step(title: string): void {
  console.log(`\n== ${title}`);
}

function describeBatch(summary: BatchSummary): string {
  const tables = Object.entries(summary.tables).map(
    ([t, c]) =>
      `${t.replace(/^[^/]+\//, '')}: +${c.inserted} ~${c.updated} -${c.deleted}${c.conflicts ? `, ${c.conflicts} conflict(s)` : ''}`,
  );
  return `${summary.records} record(s)${tables.length ? `; ${tables.join('; ')}` : ''}${summary.deadLettered ? `; ${summary.deadLettered} dead-lettered` : ''}`;
}

async function tableText(conn: Connection, table: string): Promise<string> {
  const [rows] = await conn.query(`SELECT * FROM \`${DEV_SCHEMA}\`.\`${table}\` ORDER BY 1`);
  return JSON.stringify(rows, (_k, v) =>
    v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v,
  );
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  step('1. Two throwaway servers: online (row binlog) and offline');
  const [onlineServer, offlineServer] = await Promise.all([
    startThrowawayServer({ binlog: true }),
    startThrowawayServer(),
  ]);
  const configPath = join(onlineServer.dataDir, 'sync.config.yml');
  writeFileSync(
    configPath,
    stringify({
      databases: {
        shop_online: { role: 'online', url: onlineServer.url },
        shop_offline: { role: 'offline', url: offlineServer.url },
      },
      cdc: [
        {
          topics: [...Object.keys(DEV_TABLES).map((t) => `dbserver1.${DEV_SCHEMA}.${t}`), 'dbserver1'],
          target: 'shop_offline',
          format,
          applyDdl: true,
        },
      ],
      manual: [{ source: 'shop_online', target: 'shop_offline', tables: [`${DEV_SCHEMA}.*`] }],
    }),
  );
  console.log(`online ${onlineServer.url}, offline ${offlineServer.url}`);
  let ok = false;
  try {
    const dbs = {
      online: { name: 'shop_online', url: onlineServer.url },
      offline: { name: 'shop_offline', url: offlineServer.url },
    };
    await createDevSchema(dbs);
    const online = await rawConnection(onlineServer.url);
    const offline = await rawConnection(offlineServer.url);
    await online.query(`USE \`${DEV_SCHEMA}\``);

    // Rows that exist before mirroring starts: offline never sees them through the binlog.
    await online.query(
      `INSERT INTO t_config VALUES (1, 'feature.flag', 'on', 9.99, '2026-11-24 10:00:00.123'),
         (2, 'timeout.ms', '3000', NULL, '2026-11-24 10:00:01.000')`,
    );

    step(`2. The pipeline: binlog capture (${format}) → cdc-sync handler; manual-sync over HTTP`);
    const applied: BatchSummary[] = [];
    const pipeline = await startPipeline({
      configPath,
      format,
      batchWindowMs: 50,
      onBatch: ({ summary, error }) => {
        if (error) console.log(`  batch failed: ${error.message}`);
        if (summary) {
          applied.push(summary);
          console.log(`  applied ${describeBatch(summary)}`);
        }
      },
      onError: (err) => console.log(`  capture error: ${err.message}`),
    });
    console.log(`  console ${pipeline.httpUrl}/`);
    try {
      const sql = async (title: string, statements: string[]) => {
        console.log(`\n  ${title}`);
        for (const s of statements) {
          console.log(`    online> ${s.replace(/\s+/g, ' ')}`);
          await online.query(s);
        }
        await pipeline.capture.caughtUp();
      };

      step('3. Changes online, through SQL');
      await sql('inserts', [
        `INSERT INTO t_config VALUES (3, 'greeting', '你好 😀', 0.10, NOW(3)), (4, 'max.retries', '5', NULL, NOW(3))`,
        `INSERT INTO t_approval_template (code, title, steps, form_schema) VALUES
           ('leave', 'Leave request', '[{"role": "manager"}, {"role": "hr", "sla_hours": 48}]', '{"days": "number"}'),
           ('expense', 'Expense claim', '[{"role": "finance", "limit": 1000.50}]', NULL)`,
        `INSERT INTO t_user (user_no, name, email, balance) VALUES ('U-1001', 'Ann', 'ann@example.com', 12.5000),
           ('U-1002', 'Bo', NULL, 0), ('U-1003', 'Cy', 'cy@example.com', 99999.9999)`,
      ]);
      await sql('updates and a delete', [
        `UPDATE t_config SET value = '8', updated_at = NOW(3) WHERE id = 4`,
        `UPDATE t_approval_template SET steps = JSON_ARRAY_APPEND(steps, '$', JSON_OBJECT('role', 'ceo')) WHERE code = 'expense'`,
        `DELETE FROM t_user WHERE user_no = 'U-1002'`,
      ]);
      await sql('a primary-key change', [`UPDATE t_config SET id = 30 WHERE id = 3`]);

      console.log('\n  a conflicting offline edit: QA took user_no U-2000 for a test user');
      await offline.query(
        `INSERT INTO \`${DEV_SCHEMA}\`.t_user (id, user_no, name) VALUES (9000, 'U-2000', 'qa test user')`,
      );
      await sql('production now creates U-2000 for a real user (onConflict: overwrite wins)', [
        `INSERT INTO t_user (user_no, name, email) VALUES ('U-2000', 'Dee', 'dee@example.com')`,
      ]);
      await sql('a schema change (applyDdl: true), then a row that uses it', [
        'ALTER TABLE t_config ADD COLUMN owner VARCHAR(64) NULL',
        `UPDATE t_config SET owner = 'platform-team' WHERE id IN (4, 30)`,
      ]);

      const [[position]] = (await offline.query(
        `SELECT topic, applied_offset, TIMESTAMPDIFF(MICROSECOND, source_time, updated_at) / 1000 AS lag_ms
           FROM cdc_mirror.positions ORDER BY updated_at DESC LIMIT 1`,
      )) as unknown as [Record<string, unknown>[]];
      console.log(
        `\n  ${pipeline.capture.stats.records} records in ${pipeline.capture.stats.batches} batches; last applied ${position?.topic}@${position?.applied_offset}, lag ${Number(position?.lag_ms ?? 0).toFixed(0)} ms (source commit → applied)`,
      );

      step('4. Manual sync over HTTP: the rows that predate mirroring');
      for (const dryRun of [true, false]) {
        const res = await fetch(`${pipeline.httpUrl}/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            source: 'shop_online',
            table: `${DEV_SCHEMA}.t_config`,
            where: 'id < 3',
            dryRun,
          }),
        });
        const body = (await res.json()) as Record<string, unknown>;
        console.log(
          `  POST /sync ${dryRun ? '(dry run)' : '(run)    '} → HTTP ${res.status}: ${
            dryRun
              ? `would insert ${body.wouldInsert}, update ${body.wouldUpdate}, unchanged ${body.unchanged}`
              : `inserted ${body.inserted}, updated ${body.updated}, status ${body.status}`
          }`,
        );
      }

      step('5. Offline equals online?');
      ok = true;
      for (const table of Object.keys(DEV_TABLES)) {
        const same = (await tableText(online, table)) === (await tableText(offline, table));
        ok &&= same;
        console.log(`  ${DEV_SCHEMA}.${table}: ${same ? 'equal' : 'DIFFERENT'}`);
      }
      const conflicts = applied.reduce(
        (n, s) => n + Object.values(s.tables).reduce((m, c) => m + c.conflicts, 0),
        0,
      );
      const lettered = applied.reduce((n, s) => n + s.deadLettered, 0);
      console.log(`  ${conflicts} conflict(s) resolved by the policy, ${lettered} dead letter(s)`);
    } finally {
      await pipeline.stop();
      await online.end();
      await offline.end();
    }
  } finally {
    await Promise.all([onlineServer.stop(), offlineServer.stop()]);
  }
  console.log(ok ? '\ndemo passed: offline is in step with online' : '\ndemo FAILED: offline differs');
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
