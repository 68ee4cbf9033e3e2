import { createInterface } from 'node:readline/promises';
import type { Api } from './api';
import { type Color, painter } from './format';

/** Where a command writes: results on stdout, progress, prompts and errors on stderr. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Rewrites the current stderr line (a progress bar); only on a terminal. */
  status(line: string): void;
  /** Ends a status line left on stderr. */
  endStatus(): void;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  paint(color: Color, text: string): string;
  ask(question: string): Promise<string>;
}

export function processIo(): Io {
  let statusShown = false;
  const endStatus = () => {
    if (statusShown) process.stderr.write('\n');
    statusShown = false;
  };
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => {
      endStatus();
      process.stderr.write(`${line}\n`);
    },
    status: (line) => {
      process.stderr.write(`\r${line}\u001b[K`);
      statusShown = true;
    },
    endStatus,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    paint: painter(Boolean(process.stdout.isTTY)),
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/** What every command gets: its options, where to write, and the API (opened on first use). */
export interface Command {
  io: Io;
  json: boolean;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  api(): Promise<Api>;
}

/** Under --json, the API's answer exactly as it was sent. */
export function printJson(cmd: Command, text: string): void {
  cmd.io.out(text.trimEnd());
}
