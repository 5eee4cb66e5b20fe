import type { Logger } from '../log.js';

let received: 'SIGINT' | 'SIGTERM' | undefined;

/** The signal that cancelled the run, if one did (the exit code follows it: 130 for SIGINT, 143 for SIGTERM). */
export function interruptedBy(): 'SIGINT' | 'SIGTERM' | undefined {
  return received;
}

/**
 * Run `fn` with Ctrl-C / SIGTERM turned into an abort: the first signal cancels (the run cleans up), a second
 * one quits at once (exit 130 or 143).
 */
export async function withInterrupts<T>(logger: Logger, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    interrupts++;
    received ??= sig;
    if (interrupts > 1) process.exit(sig === 'SIGTERM' ? 143 : 130);
    logger.warn(`interrupted (${sig}): cleaning up (press Ctrl-C again to force quit)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
