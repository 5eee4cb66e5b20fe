import { spawnSync } from 'node:child_process';

/**
 * Integration tests run the real CLI from dist/: build it once before they start. Type errors are
 * reported by `npm run typecheck`; here tsc still emits, so a type error elsewhere does not hide results.
 */
export default function setup(): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.status !== 0)
    process.stderr.write(`tsc reported errors (build emitted anyway):\n${r.stdout}${r.stderr}`);
}
