/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * A promise that resolves once `p` has settled, whichever way: for a side task run alongside the main
 * one, waited for (its error left to whoever awaits `p`) before the run's state is torn down.
 */
export function settled(p: Promise<unknown> | undefined): Promise<void> {
  return p
    ? p.then(
        () => undefined,
        () => undefined,
      )
    : Promise.resolve();
}
