import type { ResultSetHeader } from 'mysql2/promise';
import type { SyncConfig } from '../config/schema';
import type { SqlValue, Statement } from '../types';
import {
  getOnlineDatabase,
  openWritablePool,
  type Querier,
  type Row,
  type ServerFacts,
  UnknownDatabaseError,
  type WritablePool,
} from './connection';
import type { Dialect } from './dialect';
import { redactMessage } from './errors';

/** The target is (or may be) an online database: nothing is written. */
export class OnlineTargetError extends Error {
  override name = 'OnlineTargetError';
}

/**
 * The target's distinctness from an online database could not be proven (that database did not
 * answer). Transient: retried, then the batch fails; never a write on an unproven target.
 */
export class GuardUnverifiedError extends Error {
  override name = 'GuardUnverifiedError';
  readonly transient = true;
}

/** The invocation has too little time left to commit safely: rolled back, the batch is retried. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
  readonly transient = true;
}

/** Milliseconds kept in hand after the last statement: enough to roll back and report. */
export const DEADLINE_RESERVE_MS = 1_500;

/** A connection of an offline target, with transactions that commit only while there is time. */
export interface WriteSession extends Querier {
  transaction<T>(fn: (tx: Querier) => Promise<T>): Promise<T>;
}

/**
 * The only write handle there is: an offline database whose server was proven distinct from every
 * online database. Created by `getWriteTarget` alone (the constructor is private), so a writer that
 * takes an OfflineTarget or a session of one cannot be handed an online database.
 */
export class OfflineTarget implements ServerFacts {
  readonly name: string;
  readonly dialect: Dialect;
  readonly identity: string;
  readonly maxAllowedPacket: number;

  private constructor(private readonly pool: WritablePool) {
    this.name = pool.name;
    this.dialect = pool.dialect;
    this.identity = pool.identity;
    this.maxAllowedPacket = pool.maxAllowedPacket;
  }

  /** @internal used by getWriteTarget only. */
  static wrap(pool: WritablePool): OfflineTarget {
    return new OfflineTarget(pool);
  }

  select<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.pool.select<T>(sql, params);
  }

  /** A statement outside any transaction (bookkeeping DDL, one-off updates). */
  execute(stmt: Statement): Promise<ResultSetHeader> {
    return this.pool.execute(stmt);
  }

  /**
   * One connection for `fn`, every statement on it bounded by the time the invocation has left, so a
   * lock wait can never outlive the invocation and commit after it failed.
   */
  session<T>(remainingMs: () => number, fn: (s: WriteSession) => Promise<T>): Promise<T> {
    const budget = remainingMs() - DEADLINE_RESERVE_MS;
    if (budget <= 0) throw new DeadlineError('no time left in this invocation to write');
    return this.pool.withConnection(budget, (conn) =>
      fn({
        ...conn,
        async transaction<R>(body: (tx: Querier) => Promise<R>): Promise<R> {
          await conn.execute({ sql: 'START TRANSACTION', params: [] });
          try {
            const result = await body(conn);
            if (remainingMs() < DEADLINE_RESERVE_MS) {
              throw new DeadlineError('the invocation ran out of time before commit: rolled back');
            }
            await conn.execute({ sql: 'COMMIT', params: [] });
            return result;
          } catch (err) {
            // A rollback on a dead connection fails too; the original error is the one that matters.
            await conn.execute({ sql: 'ROLLBACK', params: [] }).catch(() => undefined);
            throw err;
          }
        },
      }),
    );
  }
}

/**
 * The never-write-online guard, failing closed: a write handle exists only for a database configured
 * `offline` whose server identity was read and differs from the identity of every online database,
 * each of which must answer. An online database that cannot be reached (wrong password, timeout,
 * DNS, too many connections) leaves the target unproven: GuardUnverifiedError, retried as transient,
 * and nothing is written. Every path that writes (CDC, manual sync, jobs, dead letters, their
 * bookkeeping tables, DDL, continuations) gets its handle here.
 */
export function getWriteTarget(name: string, config: SyncConfig): Promise<OfflineTarget> {
  const db = config.databases[name];
  if (!db) return Promise.reject(new UnknownDatabaseError(`unknown database "${name}"`));
  if (db.role !== 'offline') {
    return Promise.reject(new OnlineTargetError(`"${name}" is not an offline database: refusing to write`));
  }
  return openWritablePool(name, config, (facts) => proveOffline(facts, config)).then((pool) => {
    let target = wrapped.get(pool);
    if (!target) {
      target = OfflineTarget.wrap(pool);
      wrapped.set(pool, target);
    }
    return target;
  });
}

/** One OfflineTarget per proven pool, so per-target state (created bookkeeping tables) is kept once. */
const wrapped = new WeakMap<WritablePool, OfflineTarget>();

async function proveOffline(target: ServerFacts, config: SyncConfig): Promise<void> {
  if (!target.identity) {
    throw new OnlineTargetError(
      `offline database "${target.name}" did not say who it is (${target.dialect.identitySql}): refusing to write`,
    );
  }
  for (const [name, cfg] of Object.entries(config.databases)) {
    if (cfg.role !== 'online') continue;
    let identity: string;
    try {
      identity = (await getOnlineDatabase(name, config)).identity;
    } catch (err) {
      throw new GuardUnverifiedError(
        `cannot prove offline database "${target.name}" is not online database "${name}": "${name}" did not answer (${redactMessage(err)}); nothing written`,
        { cause: err },
      );
    }
    if (!identity) {
      throw new GuardUnverifiedError(
        `cannot prove offline database "${target.name}" is not online database "${name}": "${name}" did not say who it is; nothing written`,
      );
    }
    if (identity === target.identity) {
      throw new OnlineTargetError(
        `offline database "${target.name}" is the same server as online database "${name}": refusing to write`,
      );
    }
  }
}
