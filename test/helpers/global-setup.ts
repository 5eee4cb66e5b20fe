import { execFileSync } from 'node:child_process';

/** Integration tests run the real CLI from dist/: build it once before they start. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
