/**
 * What the console's end-to-end tests share: the local pipeline (dev/pipeline.ts) on private throwaway
 * servers with a config of the test's own, headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core), and screenshots of each screen at desktop and phone widths.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { type Browser, chromium, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { createDevSchema, ensureLocalServers, type LocalDatabases } from '../../dev/pipeline';
import { freePort } from '../harness/mysql-server';
import { rawConnection } from '../support/raw-connection';

export const ROOT = join(__dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, '.e2e-screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** The page as it is now, full length, at 1280 px and at 390 px (then back to 1280). */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const [label, size] of [
    ['1280', DESKTOP],
    ['390', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

export interface Servers {
  dbs: LocalDatabases;
  online: Connection;
  offline: Connection;
  stop(): Promise<void>;
}

/** Two throwaway servers on free ports (the online one with a row binlog) with the dev schema on both. */
export async function startServers(): Promise<Servers> {
  const [onPort, offPort] = [await freePort(), await freePort()];
  const dbs: LocalDatabases = {
    online: { name: 'shop_online', url: `mysql://root@127.0.0.1:${onPort}` },
    offline: { name: 'shop_offline', url: `mysql://root@127.0.0.1:${offPort}` },
  };
  const servers = await ensureLocalServers(dbs);
  try {
    await createDevSchema(dbs);
    const online = await rawConnection(dbs.online.url);
    const offline = await rawConnection(dbs.offline.url);
    return {
      dbs,
      online,
      offline,
      async stop() {
        await online.end().catch(() => undefined);
        await offline.end().catch(() => undefined);
        await servers.stop();
      },
    };
  } catch (err) {
    await servers.stop();
    throw err;
  }
}

/** Writes a config file under .tmp/ and returns its path. */
export function writeConfig(name: string, doc: unknown): string {
  const dir = join(ROOT, '.tmp');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${process.pid}.yml`);
  writeFileSync(path, stringify(doc));
  return path;
}

/** Rows as plain objects. */
export async function rows<T = Record<string, unknown>>(conn: Connection, sql: string): Promise<T[]> {
  return (await conn.query(sql))[0] as T[];
}

/** Waits until `check` holds (polling), or fails with what it last saw. */
export async function eventually<T>(
  check: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | Error = new Error('not checked');
  for (;;) {
    last = await check().catch((err: Error) => err);
    if (!(last instanceof Error) && ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `gave up waiting: last saw ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
