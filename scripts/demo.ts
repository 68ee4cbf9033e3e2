/**
 * `npm run demo`: the main job end to end on throwaway local servers, no AWS needed.
 * 1. starts an online (binlog) and an offline MariaDB/MySQL server in temp dirs;
 * 2. changes rows online and delivers them to the CDC Lambda handler as an MSK batch of Debezium,
 *    Canal and Maxwell messages (what those tools would publish for the same changes);
 * 3. runs a manual selective sync (dry run, then for real) through the HTTP handler;
 * 4. prints both tables and stops the servers.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { encodeCanal, encodeDebezium, encodeMaxwell } from '../dev/encode';
import { closeAllDatabases } from '../shared/db/connection';
import { introspectTable } from '../shared/schema/introspect';
import type { SqlValue } from '../shared/types';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { useConfig } from '../test/support/config-file';
import { lambdaContext, mskEvent } from '../test/support/kafka';
import { rawConnection, readOnlyQuerier } from '../test/support/raw-connection';

const TABLE_DDL = `(id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE, value TEXT, price DECIMAL(12,2),
  updated_at DATETIME(3)) DEFAULT CHARSET=utf8mb4`;

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  console.log('starting throwaway online and offline servers...');
  const [onlineServer, offlineServer] = await Promise.all([
    startThrowawayServer({ binlog: true }),
    startThrowawayServer(),
  ]);
  try {
    const online = await rawConnection(onlineServer.url);
    const offline = await rawConnection(offlineServer.url);
    await online.query(`CREATE DATABASE shop; CREATE TABLE shop.t_config ${TABLE_DDL}`);
    await offline.query(`CREATE DATABASE shop_test; CREATE TABLE shop_test.t_config ${TABLE_DDL}`);

    useConfig({
      databases: {
        shop_online: { role: 'online', url: onlineServer.url },
        shop_offline: { role: 'offline', url: offlineServer.url },
      },
      cdc: [{ topics: ['dbserver1.shop.t_config'], target: 'shop_offline', schemas: { shop: 'shop_test' } }],
      manual: [{ source: 'shop_online', target: 'shop_offline', schemas: { shop: 'shop_test' } }],
    });

    // 1. Changes online, captured as the three tools would publish them.
    const read = async (id: number) =>
      (
        (await online.query('SELECT * FROM shop.t_config WHERE id = ?', [id]))[0] as Record<
          string,
          SqlValue
        >[]
      )[0];
    await online.query(
      `INSERT INTO shop.t_config VALUES (1, 'feature.flag', 'on', 9.99, '2026-11-24 10:00:00.123'),
       (2, 'timeout.ms', '3000', NULL, '2026-11-24 10:00:01.000'), (3, 'greeting', '你好 😀', 0.10, NULL)`,
    );
    const columns = (await introspectTable(readOnlyQuerier(online), { schema: 'shop', table: 't_config' }))
      .columns;
    const base = { db: 'shop', table: 't_config', columns };
    const r1 = await read(1);
    const r2 = await read(2);
    const r3 = await read(3);
    const before2 = r2;
    await online.query(`UPDATE shop.t_config SET value = '5000' WHERE id = 2`);
    const after2 = await read(2);
    await online.query('DELETE FROM shop.t_config WHERE id = 3');
    const messages = [
      encodeDebezium({ ...base, op: 'c', after: r1 as never, withSchema: true }),
      encodeCanal({ ...base, type: 'INSERT', pkNames: ['id'], rows: [r2 as never, r3 as never] }),
      encodeMaxwell({
        ...base,
        type: 'update',
        data: after2 as never,
        old: { value: before2?.value ?? null },
      }),
      encodeDebezium({ ...base, op: 'd', before: r3 as never, withSchema: false }),
    ];
    const { handler: cdcSync } = await import('../functions/cdc-sync');
    const summary = await cdcSync(
      mskEvent(messages.map((value) => ({ topic: 'dbserver1.shop.t_config', value }))),
      lambdaContext(),
    );
    console.log('\nCDC batch applied:', JSON.stringify(summary.tables, null, 2));

    // 2. A row added online that never went through Kafka, copied by hand.
    await online.query(`INSERT INTO shop.t_config VALUES (100, 'new.config', 'added in prod', 1.00, NULL)`);
    const { handler: manualSync } = await import('../functions/manual-sync');
    const post = (body: unknown): APIGatewayProxyEventV2 =>
      ({
        version: '2.0',
        routeKey: 'POST /sync',
        rawPath: '/sync',
        rawQueryString: '',
        headers: { 'content-type': 'application/json' },
        requestContext: {
          http: {
            method: 'POST',
            path: '/sync',
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: 'demo',
          },
          requestId: 'demo',
          routeKey: 'POST /sync',
          stage: '$default',
        },
        body: JSON.stringify(body),
        isBase64Encoded: false,
      }) as unknown as APIGatewayProxyEventV2;
    const request = { source: 'shop_online', table: 'shop.t_config', where: 'id IN (1, 2, 100) OR id < 0' };
    for (const dryRun of [true, false]) {
      const res = (await manualSync(
        post({ ...request, dryRun }),
        lambdaContext(30_000),
      )) as APIGatewayProxyStructuredResultV2;
      console.log(`\nmanual sync (${dryRun ? 'dry run' : 'run'}): HTTP ${res.statusCode}\n${res.body}`);
    }

    const show = async (label: string, conn: typeof online, table: string) => {
      const [rows] = await conn.query(`SELECT * FROM ${table} ORDER BY id`);
      console.log(`\n${label} ${table}:`);
      console.table(rows);
    };
    await show('online', online, 'shop.t_config');
    await show('offline', offline, 'shop_test.t_config');
    await online.end();
    await offline.end();
    await closeAllDatabases();
  } finally {
    await Promise.all([onlineServer.stop(), offlineServer.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
