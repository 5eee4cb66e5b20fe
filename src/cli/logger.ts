import type { Logger } from '../log.js';

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'quiet';

/** Logger for the CLI: everything on stderr (stdout is reserved for --json and `generate`). */
export function cliLogger(mode: ProgressMode, debug: boolean): Logger {
  const write = (s: string): void => {
    process.stderr.write(s + '\n');
  };
  const tty = mode === 'tty' || (mode === 'auto' && process.stderr.isTTY);
  const info = (m: string): void => write(tty ? `\x1b[36m•\x1b[0m ${m}` : m);
  return {
    debug: (m) => {
      if (debug) write(`debug: ${m}`);
    },
    info: (m) => {
      if (mode !== 'quiet') info(m);
    },
    warn: (m) => write(tty ? `\x1b[33mwarning:\x1b[0m ${m}` : `warning: ${m}`),
  };
}

export function parseProgress(value: string, warn: (m: string) => void): ProgressMode {
  if (value === 'auto' || value === 'plain' || value === 'tty' || value === 'quiet') return value;
  if (value === 'rawjson') return 'plain';
  warn(`invalid --progress ${JSON.stringify(value)}: using auto`);
  return 'auto';
}
