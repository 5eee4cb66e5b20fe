/**
 * Bad input is refused before any work: each case exits 2 (a usage error), names the flag, and the
 * registry the image points at sees no request at all (a counting HTTP server stands in for it).
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';

let server: Server;
let requests = 0;
let host: string;
let cacheDir: string;

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'copa-validation-'));
  server = createServer((req, res) => {
    requests++;
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  host = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(cacheDir, { recursive: true, force: true });
});

const env = { ...process.env, COPA_EOL_API_URL: 'off' };

describe('usage errors exit 2 before any request', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      '--tag-suffix that makes no tag',
      () => ['patch', '-i', `${host}/app:1.0`, '--tag-suffix', '/x', '--dry-run'],
      /--tag-suffix "\/x" makes the tag "1\.0-\/x"/,
    ],
    [
      '-t that is no reference',
      () => ['patch', '-i', `${host}/app:1.0`, '-t', 'Bad:Ref::', '--dry-run'],
      /^Error: -t\/--tag: invalid image reference "Bad:Ref::"/m,
    ],
    [
      '-i that is no reference',
      () => ['patch', '-i', '::bad', '--dry-run'],
      /^Error: -i\/--image: invalid image reference "::bad"/m,
    ],
    [
      '--platform that is no platform',
      () => ['patch', '-i', `${host}/app:1.0`, '--platform', 'linux/', '--dry-run'],
      /--platform: invalid platform "linux\/"/,
    ],
    [
      '--timeout that is no duration',
      () => ['patch', '-i', `${host}/app:1.0`, '--timeout', 'banana'],
      /--timeout: invalid duration "banana"/,
    ],
    [
      'cache prune --older-than that is no duration',
      () => ['cache', 'prune', '--older-than', 'banana', '--cache-dir', cacheDir],
      /--older-than: invalid duration "banana"[\s\S]*next step: e\.g\. --older-than 10m/,
    ],
    [
      '--compression estargz',
      () => ['patch', '-i', `${host}/app:1.0`, '--compression', 'estargz'],
      /argument 'estargz' is invalid/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const before = requests;
    const r = await copa([...args(), ...(args()[0] === 'patch' ? ['--cache-dir', cacheDir] : [])], env);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(requests - before).toBe(0);
  });
});

describe('--json on failure', () => {
  it('prints the error as a JSON object on stdout (status Error, code, exit code, message, hint)', async () => {
    const usage = await copa(['patch', '-i', '::bad', '--json', '--cache-dir', cacheDir], env);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ status: 'Error', code: 'USAGE', exitCode: 2 });
    const unknown = await copa(['patch', '--no-such-flag', '--json'], env);
    expect(JSON.parse(unknown.stdout)).toMatchObject({
      status: 'Error',
      code: 'USAGE',
      message: "unknown option '--no-such-flag'",
    });
    // a run that fails on the way (nothing listens on port 1): exit 1, the same object
    const down = await copa(['patch', '-i', '127.0.0.1:1/app:1.0', '--json', '--cache-dir', cacheDir], env);
    expect(down.code).toBe(1);
    const err = JSON.parse(down.stdout) as { status: string; code: string; message: string; hint?: string };
    expect(err).toMatchObject({ status: 'Error', code: 'NETWORK', exitCode: 1 });
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.hint).toBeTruthy();
  });
});
