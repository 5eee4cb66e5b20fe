/**
 * `npm run fuzz`: the property tests with many runs and a random seed (printed first, so a failure can be
 * replayed with the same COPA_FC_SEED and COPA_FC_RUNS). Unit properties only unless --root is given
 * (the extraction property needs root). Usage: npm run fuzz [-- --runs N] [-- --seed S] [-- --root]
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5000' }, seed: { type: 'string' }, root: { type: 'boolean' } },
});
const runs = Number(values.runs);
const seed = values.seed !== undefined ? Number(values.seed) : randomInt(1, 2 ** 31 - 1);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S] [--root]');
  process.exit(2);
}
console.log(`fuzz: COPA_FC_SEED=${seed} COPA_FC_RUNS=${runs}`);
const projects = values.root ? ['--project', 'unit', '--project', 'integration'] : ['--project', 'unit'];
const r = spawnSync('npx', ['vitest', 'run', ...projects, '--testTimeout', '0', 'property'], {
  stdio: 'inherit',
  env: { ...process.env, COPA_FC_SEED: String(seed), COPA_FC_RUNS: String(runs) },
});
console.log(`fuzz: seed ${seed}, ${runs} runs per property: ${r.status === 0 ? 'passed' : 'FAILED'}`);
process.exit(r.status ?? 1);
