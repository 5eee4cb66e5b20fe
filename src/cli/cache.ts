import { Command } from 'commander';
import { LayerCache } from '../layers/cache.js';
import { parseDuration } from './duration.js';

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** `copa cache du|prune`: what the layer cache holds, and removing it. */
export function cacheCommand(): Command {
  const cmd = new Command('cache').description('Inspect or prune the layer cache');
  cmd
    .command('du')
    .description('show the size of the layer cache')
    .option('--cache-dir <dir>', 'cache directory')
    .action(async (o: { cacheDir?: string }) => {
      const cache = new LayerCache(o.cacheDir ? { dir: o.cacheDir } : {});
      const r = await cache.report();
      for (const e of r.entries)
        process.stdout.write(
          `${e.diffID}  ${human(e.bytes)}  last used ${new Date(e.lastUsed).toISOString()}\n`,
        );
      process.stdout.write(`${r.entries.length} layer(s), ${human(r.totalBytes)} in ${cache.dir}\n`);
    });
  cmd
    .command('prune')
    .description('remove cached layers (all, or those unused for --older-than)')
    .option('--older-than <duration>', 'only layers not used for this long, e.g. 168h')
    .option('--cache-dir <dir>', 'cache directory')
    .action(async (o: { cacheDir?: string; olderThan?: string }) => {
      const cache = new LayerCache(o.cacheDir ? { dir: o.cacheDir } : {});
      const r = await cache.prune(o.olderThan ? { olderThanMs: parseDuration(o.olderThan, '--older-than') } : { all: true });
      process.stdout.write(`removed ${r.removed} layer(s), freed ${human(r.freedBytes)}\n`);
    });
  return cmd;
}
