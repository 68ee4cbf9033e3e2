/**
 * Exit codes a script can rely on:
 *   0  success
 *   1  the operation ran and failed (a job failed or was cancelled, a dead letter still fails on retry)
 *   2  usage error (unknown command or option, bad value, unreadable config, --run without --yes off a terminal)
 *   3  refused or invalid: the API answered 4xx (bad condition, not allowed, not found, over the limit,
 *      no such route), or no credentials to sign with
 *   4  unreachable: no answer, or the API answered 5xx (a database it could not reach)
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3, unavailable: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT] | 130;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the operation failed (the job failed or was cancelled, a dead letter still fails on retry)
  2  usage error (bad command, option or value; unreadable config; --run without --yes off a terminal)
  3  refused or invalid: the API answered 4xx (condition rejected, not allowed, not found, over the
     limit, a route this API does not have), or no credentials to sign the request with
  4  unreachable: no answer from the API, or it answered 5xx (e.g. a database it could not reach)`;

/** An error that ends the command with a message on stderr and its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Printed to stdout under --json (the API's answer, when there was one). */
    readonly jsonText?: string,
  ) {
    super(message);
  }
}

export const usage = (message: string) => new CliError(message, EXIT.usage);

/** 4xx → 3, anything else that is not a success (5xx, no answer) → 4. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status >= 200 && status < 300) return EXIT.ok;
  if (status >= 400 && status < 500) return EXIT.refused;
  return EXIT.unavailable;
}
