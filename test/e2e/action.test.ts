import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeDebianReport } from '../helpers/debian-report.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * The CI action wrapper end to end: the step of action.yml as a runner would run it (its env block filled
 * from the inputs and their defaults, the workspace as working directory, a GITHUB_OUTPUT file), running
 * dist/action/main.js, which runs the real CLI against a real bookworm fixture in a local registry.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(REPO, 'dist', 'action', 'main.js');

interface ActionYml {
  inputs: Record<string, { default?: string }>;
  runs: { steps: Array<{ id?: string; env?: Record<string, string> }> };
}

let work: string;
let registry: TestRegistry;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let source: string;

/** The copa step's environment as the runner builds it: `${{ inputs.x }}` → the input, its default, or ''. */
async function stepEnv(inputs: Record<string, string>): Promise<Record<string, string>> {
  const action = parse(await readFile(join(REPO, 'action.yml'), 'utf8')) as ActionYml;
  const step = action.runs.steps.find((s) => s.id === 'copa');
  const env: Record<string, string> = {};
  for (const [key, expr] of Object.entries(step?.env ?? {})) {
    const name = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(expr)?.[1];
    if (!name) throw new Error(`action.yml: ${key} is not set from an input`);
    env[key] = inputs[name] ?? action.inputs[name]?.default ?? '';
  }
  return env;
}

async function runAction(
  inputs: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; outputs: string }> {
  const outputFile = join(work, `github_output_${Date.now()}`);
  await writeFile(outputFile, 'earlier-step=1\n');
  const env = {
    ...process.env,
    ...(await stepEnv(inputs)),
    GITHUB_OUTPUT: outputFile,
    COPA_EOL_API_URL: 'off',
    XDG_CACHE_HOME: join(work, 'xdg'),
  };
  const child = spawn(process.execPath, [SCRIPT], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr, outputs: await readFile(outputFile, 'utf8') };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-action-'));
  registry = await startRegistry();
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the CI action wrapper', () => {
  it('patches with the copa-action inputs, pushes, writes the VEX file and the step outputs', async () => {
    // relative paths, as a workflow gives them: resolved in the workspace (the step's working directory)
    const chosen = await writeDebianReport(join(work, 'report.json'), source, fixture.arch, upgradable);
    const r = await runAction({
      image: source,
      'image-report': 'report.json',
      'patched-tag': '12-ci',
      timeout: '10m',
      output: 'vex.json',
      push: 'true',
    });
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const target = `${registry.host}/debian:12-ci`;
    expect(r.outputs).toBe(`earlier-step=1\npatched-image=${target}\nexit-code=0\n`);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'Patched', patchedImage: target });
    expect(rawManifest(target).layers).toHaveLength(rawManifest(source).layers.length + 1);
    const vex = JSON.parse(await readFile(join(work, 'vex.json'), 'utf8')) as {
      '@context': string;
      statements: Array<{ status: string; products: Array<{ subcomponents?: Array<{ '@id': string }> }> }>;
    };
    expect(vex['@context']).toMatch(/openvex/);
    expect(vex.statements.length).toBeGreaterThan(0);
    expect(vex.statements.every((s) => s.status === 'fixed')).toBe(true);
    const purls = vex.statements.flatMap((s) =>
      s.products.flatMap((p) => (p.subcomponents ?? []).map((c) => c['@id'])),
    );
    for (const u of chosen)
      expect(
        purls.some((p) => p.startsWith(`pkg:deb/debian/${u.name}@`)),
        u.name,
      ).toBe(true);
  });

  it('a failed patch: the step fails with copa’s exit code, exit-code says it, patched-image is empty', async () => {
    const r = await runAction({ image: `${registry.host}/no-such-image:1`, push: 'true' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*no-such-image/m);
    expect(r.outputs).toBe('earlier-step=1\npatched-image=\nexit-code=1\n');
  });

  it('a bad input: one line naming it, exit 2, and the outputs still written', async () => {
    const r = await runAction({ image: source, push: 'yes' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: action input push: /m);
    expect(r.stderr).toMatch(/next step: /);
    expect(r.outputs).toBe('earlier-step=1\npatched-image=\nexit-code=2\n');
  });
});
