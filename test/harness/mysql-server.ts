import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);

/**
 * A throwaway MariaDB/MySQL server in a temp dir on a free port: `mariadb-install-db` then
 * `mariadbd --no-defaults`. Root has no password and is reachable over TCP on 127.0.0.1 only.
 */
export interface ThrowawayServer {
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would: no clean shutdown. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir (after kill or stop({keepData})). */
  restart(): Promise<void>;
}

const INSTALL_HINT =
  'No MariaDB/MySQL server binary found (looked for mariadbd and mysqld on PATH and in /usr/sbin). ' +
  'Install one, e.g. `apt-get install -y mariadb-server-core`, or point the tests at running servers with ' +
  'CDC_MIRROR_TEST_ONLINE_URL and CDC_MIRROR_TEST_OFFLINE_URL.';

async function which(names: string[]): Promise<string | undefined> {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/mysql/bin',
  ];
  const { access } = await import('node:fs/promises');
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        await access(candidate);
        return candidate;
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}

export async function findServerBinaries(): Promise<{ server: string; install: string }> {
  const server = await which(['mariadbd', 'mysqld']);
  const install = await which(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !install) throw new Error(INSTALL_HINT);
  return { server, install };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, logTail: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${logTail()}`);
    try {
      const conn = await mysql.createConnection(url);
      await conn.end();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`server did not come up: ${(err as Error).message}\n${logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface ServerOptions {
  /** Binary log on, row format: what an online server looks like to a CDC tool. */
  binlog?: boolean;
  /** Extra `--option=value` flags. */
  extraArgs?: string[];
  /** A fixed port (the local pipeline's, from sync.config.yml) instead of a free one. */
  port?: number;
}

export async function startThrowawayServer(opts: ServerOptions = {}): Promise<ThrowawayServer> {
  const { server, install } = await findServerBinaries();
  const dataDir = await mkdtemp(join(tmpdir(), 'cdc-mirror-db-'));
  const isRoot = process.getuid?.() === 0;
  const userArgs = isRoot ? ['--user=root'] : [];
  await run(install, [
    '--no-defaults',
    `--datadir=${join(dataDir, 'data')}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    // A private tmpdir: concurrent bootstraps in a shared /tmp collide on temporary table names.
    `--tmpdir=${dataDir}`,
    ...userArgs,
  ]).catch((err: Error & { stderr?: string }) => {
    throw new Error(`${install} failed: ${err.stderr ?? err.message}`);
  });
  const port = opts.port ?? (await freePort());
  const args = [
    '--no-defaults',
    `--datadir=${join(dataDir, 'data')}`,
    `--socket=${join(dataDir, 'mysqld.sock')}`,
    `--pid-file=${join(dataDir, 'mysqld.pid')}`,
    `--tmpdir=${dataDir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=64M',
    '--innodb-log-file-size=48M',
    '--innodb-flush-log-at-trx-commit=2',
    '--sync-binlog=0',
    '--max-connections=500',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    `--server-id=${port}`,
    ...(opts.binlog ? [`--log-bin=${join(dataDir, 'binlog')}`, '--binlog-format=ROW'] : []),
    ...userArgs,
    ...(opts.extraArgs ?? []),
  ];
  const url = `mysql://root@127.0.0.1:${port}`;
  let child: ChildProcess;
  let log = '';
  const start = async () => {
    log = '';
    child = spawn(server, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    await waitUntilUp(url, child, () => log);
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  await start();
  return {
    url,
    port,
    dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    restart: start,
  };
}
