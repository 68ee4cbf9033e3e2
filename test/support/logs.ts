import { vi } from 'vitest';
import { logger } from '../../shared/observability';

/**
 * Captures everything written to stdout/stderr (Powertools logs and EMF) at `level`, for tests that
 * check what is logged. The logger otherwise goes back to its configured level (SILENT in tests) at
 * every warm invocation. Undo with vi.restoreAllMocks() and logger.setLogLevel('SILENT').
 */
export function captureLogs(level: 'DEBUG' | 'INFO'): { text: () => string; clear: () => void } {
  let captured = '';
  logger.setLogLevel(level);
  vi.spyOn(logger, 'refreshSampleRateCalculation').mockImplementation(() => undefined);
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      captured += String(chunk);
      return true;
    });
  }
  return {
    text: () => captured,
    clear: () => {
      captured = '';
    },
  };
}
