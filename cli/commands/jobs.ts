import { apiErrorMessage, expectOk } from '../api';
import { CliError, EXIT, type ExitCode, exitCodeForStatus, usage } from '../exit';
import { followingNote, followJob, isJobView, type JobView, jobOutcome } from '../follow';
import { clean, keyText, count as n, table } from '../format';
import { type Command, printJson } from '../io';
import { finish } from './sync';

export const JOBS_HELP = `Usage:
  cdc-mirror jobs [--status S] [--table SCHEMA.TABLE] [--who W] [--limit N]   list jobs, newest first
  cdc-mirror jobs ID                  one job in full
  cdc-mirror jobs --watch ID          follow a job with a progress bar until it ends
  cdc-mirror jobs cancel ID           cancel a job (a running job stops after its current chunk)
  cdc-mirror jobs resume ID           go on with a failed, cancelled or stale job from where it stopped,
                                      then follow it

Options:
  --status S           running, succeeded, failed, refused or cancelled
  --table S.T          jobs on this online table
  --who W              jobs this person asked for (the identity the API saw: JWT email/subject, IAM ARN;
                       in local mode the user name)
  --limit N            at most N jobs (default 50)
  --watch ID           follow the job
  --detach             with resume: return once it is resumed, without following it
  --interval SECONDS   how often to poll while following (default 1)`;

const STATUSES = ['running', 'succeeded', 'failed', 'refused', 'cancelled'];
const JOB_ID = /^[0-9a-f-]{36}$/i;

function jobId(text: string | undefined, what: string): string {
  if (!text) throw usage(`${what} needs a job id (see cdc-mirror jobs --help)`);
  if (!JOB_ID.test(text)) throw usage(`"${clean(text)}" is not a job id (a UUID)`);
  return text;
}

function listRows(jobs: JobView[]): string[] {
  return table(
    ['JOB', 'STATUS', 'MODE', 'WHO', 'TABLE', 'ROWS', 'CREATED (UTC)', 'CONDITION'],
    jobs.map((j) => [
      j.jobId,
      `${j.status}${j.stale ? ' (stale)' : ''}`,
      j.dryRun ? 'dry run' : String(j.mode ?? ''),
      String(j.requestedBy ?? ''),
      String(j.sourceTable ?? ''),
      `${n(j.processed)}/${n(j.matched)}`,
      String(j.createdAt ?? '').replace(/\.\d+$/, ''),
      String(j.condition ?? ''),
    ]),
    [36, 20, 8, 40, 60, 20, 19, 80],
  );
}

function detail(job: JobView): string[] {
  const rows: [string, string][] = [
    ['job', job.jobId],
    ['status', `${job.status}${job.stale ? ' (stale: no progress for 2 minutes)' : ''}`],
    ['requested by', String(job.requestedBy ?? '')],
    ['from', `${job.source ?? '?'} ${job.sourceTable ?? '?'}`],
    ['to', `${job.target ?? '?'} ${job.targetTable ?? '?'}`],
    ['condition', String(job.condition ?? '')],
    ['mode', `${job.mode ?? '?'}${job.dryRun ? ' (dry run)' : ''}, limit ${job.limit ?? '?'}`],
    ['rows', `${n(job.processed)} of ${n(job.matched)} processed`],
    [
      'result',
      `${n(job.inserted)} inserted, ${n(job.updated)} updated, ${n(job.unchanged)} unchanged, ${n(job.conflicts)} conflicts`,
    ],
    ['created', String(job.createdAt ?? '')],
    ['updated', String(job.updatedAt ?? '')],
    ['finished', String(job.finishedAt ?? '-')],
    ['invocations', String(job.invocations ?? '?')],
  ];
  if (job.error) rows.push(['error', job.error]);
  if (job.failedKey) rows.push(['failed at', keyText(job.failedKey)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${k === 'failed at' ? v : clean(v)}`);
}

export async function jobsCommand(cmd: Command): Promise<ExitCode> {
  const [sub, ...rest] = cmd.positionals;
  const watch = cmd.values.watch as string | undefined;
  const api = await cmd.api();
  if (watch !== undefined) {
    if (sub !== undefined) throw usage('--watch takes one job id and no other arguments');
    const id = jobId(watch, '--watch');
    const { answer, job } = await followJob(cmd, id);
    return finish(cmd, answer, job);
  }
  if (sub === 'cancel' || sub === 'resume') {
    if (rest.length !== 1) throw usage(`jobs ${sub} takes one job id`);
    if (sub === 'resume' && cmd.values.detach && api.local)
      throw usage('--detach needs --api: in local mode the job runs in this process, which must stay');
    const id = jobId(rest[0], `jobs ${sub}`);
    const answer = await api.request('POST', `/sync/${encodeURIComponent(id)}/${sub}`);
    if (answer.status < 200 || answer.status >= 300)
      throw new CliError(apiErrorMessage(answer), exitCodeForStatus(answer.status), answer.text);
    const job = expectOk<JobView>(answer);
    if (!isJobView(job)) throw new CliError('the API answered without a job', EXIT.unavailable, answer.text);
    if (sub === 'cancel') {
      if (cmd.json) printJson(cmd, answer.text);
      else
        cmd.io.out(
          job.status === 'cancelled'
            ? `Job ${clean(job.jobId)} cancelled${job.processed !== undefined ? ` after ${n(job.processed)} of ${n(job.matched)} rows` : ''}.`
            : `Job ${clean(job.jobId)} is ${clean(job.status)}: it had already ended.`,
        );
      return EXIT.ok;
    }
    if (job.status === 'running' && !cmd.values.detach) {
      if (!cmd.json) cmd.io.err(followingNote(api, job.jobId, 'resumed'));
      const followed = await followJob(cmd, job.jobId, answer);
      return finish(cmd, followed.answer, followed.job);
    }
    return finish(cmd, answer, job);
  }
  if (sub !== undefined) {
    if (rest.length) throw usage(`unexpected "${clean(rest[0] ?? '')}" (see cdc-mirror jobs --help)`);
    if (!JOB_ID.test(sub))
      throw usage(`"${clean(sub)}" is neither a job id nor cancel/resume (see cdc-mirror jobs --help)`);
    const answer = await api.request('GET', `/sync/${encodeURIComponent(sub)}`);
    const job = expectOk<JobView>(answer);
    if (cmd.json) printJson(cmd, answer.text);
    else {
      for (const line of detail(job)) cmd.io.out(line);
      const outcome = jobOutcome(cmd, job);
      if (job.status === 'running') for (const line of outcome.lines.slice(1)) cmd.io.out(line);
    }
    return EXIT.ok;
  }
  const status = cmd.values.status as string | undefined;
  if (status !== undefined && !STATUSES.includes(status))
    throw usage(`--status is one of ${STATUSES.join(', ')}, not "${clean(status)}"`);
  const limit = cmd.values.limit as string | undefined;
  if (limit !== undefined && !/^[1-9]\d{0,3}$/.test(limit))
    throw usage('--limit is a whole number from 1 to 9999');
  const answer = await api.request('GET', '/sync', {
    query: {
      status,
      table: cmd.values.table as string | undefined,
      requestedBy: cmd.values.who as string | undefined,
      limit: limit ?? 50,
    },
  });
  const body = expectOk<{ jobs?: JobView[] }>(answer);
  if (cmd.json) {
    printJson(cmd, answer.text);
    return EXIT.ok;
  }
  const jobs = Array.isArray(body.jobs) ? body.jobs : [];
  if (!jobs.length) cmd.io.out('No jobs.');
  else for (const line of listRows(jobs)) cmd.io.out(line);
  return EXIT.ok;
}
