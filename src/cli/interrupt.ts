import type { Logger } from '../log.js';

/**
 * Run `fn` with Ctrl-C / SIGTERM turned into an abort: the first signal cancels (the run cleans up), a second
 * one quits at once (exit 130).
 */
export async function withInterrupts<T>(logger: Logger, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    logger.warn('interrupted: cleaning up (press Ctrl-C again to force quit)');
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
