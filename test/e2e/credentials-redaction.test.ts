import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, type CliResult } from '../helpers/cli.js';
import { ensureDebianFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { inspect, run, skopeoCopy } from '../helpers/skopeo.js';

/**
 * Credentials never reach the output (issue 17 item 8): the real CLI, with --debug, against a real registry
 * that wants a password (htpasswd), the password in the docker config. Every line of stdout and stderr of a
 * patch that pulls and pushes, of a run that fails (unknown tag) and of one with a wrong password is searched
 * for the password and its encodings.
 */

const USER = 'copa-redact-user';
const PASSWORD = 'Pa55-redact-7f3e9c1d-never-printed';
const WRONG = 'Wr0ng-redact-2b8a6e40-never-printed';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

let registry: TestRegistry;
let work: string;
let source: string;

function secretsOf(user: string, pass: string): string[] {
  return [pass, b64(`${user}:${pass}`), b64(pass), encodeURIComponent(pass), `${user}:${pass}`];
}

/** A docker config holding `pass` for the registry, and the env of a CLI run that reads it. */
async function envWith(name: string, pass: string): Promise<NodeJS.ProcessEnv> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  const config = { auths: { [registry.host]: { auth: b64(`${USER}:${pass}`) } } };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return { ...process.env, DOCKER_CONFIG: dir, HOME: join(work, `home-${name}`) };
}

function expectNoSecretInAnyLine(r: CliResult, secrets: string[]): void {
  const lines = (r.stdout + '\n' + r.stderr).split('\n');
  const leaks = lines.filter((line) => secrets.some((s) => line.includes(s)));
  expect(leaks).toEqual([]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-redact-'));
  const { stdout } = await run('htpasswd', ['-Bbn', USER, PASSWORD]);
  await writeFile(join(work, 'htpasswd'), stdout);
  registry = await startRegistry({ htpasswd: join(work, 'htpasswd') });
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = `${registry.host}/team/debian:12`;
  await skopeoCopy(`oci:${fixture.layoutDir}:${fixture.refName}`, `docker://${source}`, {
    format: 'oci',
    destCreds: { user: USER, pass: PASSWORD },
  });
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('credentials in no line of output (--debug, password-protected registry)', () => {
  it('a patch that pulls and pushes with the password', async () => {
    const env = await envWith('good', PASSWORD);
    const r = await copa(
      ['patch', '-i', source, '-t', '12-redacted', '--push', '--debug', '--cache-dir', join(work, 'cache')],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    // the run did authenticate (the pushed image is there, read with the password) and said a lot
    const pushed = await inspect(`${registry.host}/team/debian:12-redacted`, {
      user: USER,
      pass: PASSWORD,
    });
    expect(pushed.Digest).toMatch(/^sha256:/);
    expect((r.stdout + r.stderr).split('\n').length).toBeGreaterThan(20);
    expect(r.stderr + r.stdout).toContain(registry.host);
    expectNoSecretInAnyLine(r, secretsOf(USER, PASSWORD));
  });

  it('a run that fails (the tag does not exist), also with --json', async () => {
    const env = await envWith('good-err', PASSWORD);
    for (const extra of [[], ['--json']]) {
      const r = await copa(
        ['patch', '-i', `${registry.host}/team/debian:no-such-tag`, '--debug', ...extra],
        env,
      );
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/no-such-tag|not found/i);
      expectNoSecretInAnyLine(r, secretsOf(USER, PASSWORD));
    }
  });

  it('a run whose password the registry refuses', async () => {
    const env = await envWith('wrong', WRONG);
    const r = await copa(['patch', '-i', source, '--debug'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/auth|credential|unauthorized|denied/i);
    expectNoSecretInAnyLine(r, [...secretsOf(USER, WRONG), ...secretsOf(USER, PASSWORD)]);
  });
});
