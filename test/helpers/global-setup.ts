import { spawnSync } from 'node:child_process';

/**
 * Integration tests run the real CLI from dist/, as `npm run build` makes it (tsc, then the bundled CLI of
 * scripts/bundle.ts): build it once before they start. Type errors are reported by `npm run typecheck`;
 * here tsc still emits, so a type error elsewhere does not hide results.
 */
export default function setup(): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.status !== 0)
    process.stderr.write(`tsc reported errors (build emitted anyway):\n${r.stdout}${r.stderr}`);
  const b = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bundle.ts'], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`bundling the CLI failed:\n${b.stdout}${b.stderr}`);
}
