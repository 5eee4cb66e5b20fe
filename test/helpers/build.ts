import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run build` in `dir`: tsc -p tsconfig.build.json (type errors are reported through `log` but the
 * emitted build is used: `npm run typecheck` is where they fail), then the bundled CLI of
 * scripts/bundle.ts where the tree has it (older git refs the bench builds have none).
 */
export function buildCli(dir: string, log: (m: string) => void): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) log(`tsc reported errors (build emitted anyway):\n${r.stdout}${r.stderr}`);
  if (!existsSync(join(dir, 'scripts/bundle.ts'))) return;
  const b = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bundle.ts'], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (b.status !== 0) throw new Error(`bundling the CLI failed in ${dir}:\n${b.stdout}${b.stderr}`);
}
