/** The shapes of docs/http-api.md, as the console reads them (every field optional where a route may be older). */

// The server's own declarations where the JSON carries them as they are (type-only: nothing of the server
// is bundled into the console).
import type { JobCounts, JobStatus } from '../shared/manual/jobs';

export type { JobStatus };

/** Values travel as text: numbers keep their exact digits, bytes are "0x…", NULL is null. */
export type SqlValue = string | number | boolean | null;
export type Key = Record<string, SqlValue>;

export interface AuthConfig {
  type: 'jwt' | 'iam';
  issuer?: string;
  clientId?: string;
  audience?: string[];
  scopes?: string[];
}

export interface CatalogTable {
  table: string;
  targetTable: string;
}

export interface CatalogSource {
  source: string;
  target: string;
  schemas?: Record<string, string>;
  tables: CatalogTable[];
  defaultLimit?: number;
  maxLimit?: number;
}

export interface CdcEntryView {
  name: string;
  topics: string[];
  target: string;
  enabled: boolean;
}

export interface Catalog {
  sources: CatalogSource[];
  cdc?: CdcEntryView[];
  auth?: AuthConfig;
  grammar?: { allowed?: string[]; refused?: string[]; examples?: string[] };
}

export interface PreviewRow {
  key: Key;
  action: 'insert' | 'update' | 'unchanged' | 'conflict';
  changedColumns?: string[];
  changes?: Record<string, { offline: SqlValue; online: SqlValue }>;
  row?: Record<string, SqlValue>;
  conflictWith?: string;
}

export type Warning =
  | { kind: 'dropped-columns'; message: string; columns?: string[] }
  | { kind: 'value-too-long' | 'out-of-range'; message: string; column?: string; keys?: Key[] }
  | { kind: 'offline-only-rows'; message: string; keys?: Key[]; count?: number }
  | { kind: string; message: string; keys?: Key[] };

export interface DryRun {
  jobId?: string;
  dryRun: true;
  mode?: string;
  source?: string;
  table?: string;
  targetTable?: string;
  matched: number;
  wouldInsert: number;
  wouldUpdate: number;
  unchanged: number;
  conflicts: number;
  preview: PreviewRow[];
  previewCount?: number;
  previewTruncated?: boolean;
  warnings?: Warning[];
  durationMs?: number;
}

export interface JobView extends JobCounts {
  jobId: string;
  status: JobStatus;
  stale?: boolean;
  requestedBy?: string;
  source?: string;
  target?: string;
  sourceTable?: string;
  targetTable?: string;
  condition?: string;
  mode?: string;
  dryRun?: boolean;
  limit?: number;
  rowsPerSecond?: number | null;
  etaSeconds?: number | null;
  error?: string | null;
  failedKey?: Key | null;
  lastKey?: Key | null;
  createdAt?: string;
  updatedAt?: string;
  finishedAt?: string | null;
  durationMs?: number;
  invocations?: number;
  statusUrl?: string;
  repeated?: boolean;
}

/** A verification's row report (POST /verify, GET /verify/{id}). */
export interface RowDrift {
  rows: number;
  chunks: number;
  chunksDiffering: number;
  missing: Key[];
  extra: Key[];
  differing: { key: Key; columns: string[] }[];
  durationMs: number;
}

/** POST /verify/{id}/repair. */
export interface RepairAnswer {
  copied: number;
  deleted: number;
  remaining?: { missing: number; extra: number; differing: number };
}

export interface DeadLetterView {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  rowIndex?: number;
  table?: string | null;
  errorClass?: string;
  error?: string;
  status?: string;
  attempts?: number;
  firstSeen?: string;
  lastSeen?: string;
  key?: string | null;
  payload?: unknown;
  value?: string | null;
  valueBytes?: number | null;
  valueTruncated?: boolean;
  supersededBy?: string | null;
  discardedBy?: string | null;
}

export interface Counts {
  inserted?: number;
  updated?: number;
  deleted?: number;
  conflicts?: number;
  deadLettered?: number;
  [k: string]: number | undefined;
}

export interface PartitionStatus {
  topic: string;
  partition: number;
  appliedOffset?: string | null;
  sourceTime?: string | null;
  appliedAt?: string | null;
  lagMs?: number | null;
  sinceAppliedMs?: number | null;
}

export interface TargetStatus {
  target: string;
  partitions?: PartitionStatus[];
  lastHour?: Counts;
  lastDay?: Counts;
  deadLettersOpen?: number;
  error?: string;
}

export interface StatusView {
  targets: TargetStatus[];
  entries?: CdcEntryView[];
}
