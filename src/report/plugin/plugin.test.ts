import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { runPlugin, validatePluginName } from './plugin.js';

// Real plugin executables (shell scripts) in a temporary PATH directory, run through the real spawn path.

const FAKE = `#!/bin/sh
# copa-fake: converts "name installed fixed id" lines into a v1alpha2 manifest.
echo "copa-fake: converting $1" >&2
if [ "$(head -n 1 "$1")" != "# fake-scanner v1" ]; then
  echo "copa-fake: $1 is not a fake-scanner report" >&2
  exit 3
fi
printf '{"apiVersion":"v1alpha2","metadata":{"os":{"type":"debian","version":"12"},"config":{"arch":"amd64"}},"osupdates":['
sep=''
grep -v '^#' "$1" | while read -r name installed fixed id; do
  printf '%s{"name":"%s","installedVersion":"%s","fixedVersion":"%s","vulnerabilityID":"%s","type":"debian","class":"os-pkgs"}' "$sep" "$name" "$installed" "$fixed" "$id"
  sep=','
done
printf '],"langupdates":null}\\n'
`;

const PLUGINS: Record<string, string> = {
  'copa-fake': FAKE,
  'copa-args': `#!/bin/sh\nprintf '{"apiVersion":"v1alpha1","metadata":{"os":{"type":"argc-%s","version":"%s"}},"updates":[]}' "$#" "$1"\n`,
  'copa-chatty': `#!/bin/sh\necho "scanning..."\necho '{"apiVersion":"v1alpha1","updates":[]}'\n`,
  'copa-future': `#!/bin/sh\necho '{"apiVersion":"v2","updates":[]}'\n`,
  'copa-sleepy': `#!/bin/sh\nexec sleep 30\n`,
};

let dir: string;
let env: NodeJS.ProcessEnv;
let report: string;

function messages(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (m: string) => void lines.push(m);
  return { logger: { debug: log, info: log, warn: log }, lines };
}

async function failure(p: Promise<unknown>): Promise<CopaError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'copa-plugin-test-'));
  for (const [name, script] of Object.entries(PLUGINS)) {
    writeFileSync(join(dir, name), script, { mode: 0o755 });
  }
  writeFileSync(join(dir, 'copa-noexec'), '#!/bin/sh\necho {}\n');
  chmodSync(join(dir, 'copa-noexec'), 0o644);
  env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  report = join(dir, 'scan.txt');
  writeFileSync(
    report,
    '# fake-scanner v1\nlibssl3 3.0.11-1~deb12u2 3.0.13-1~deb12u1 CVE-2024-0727\nopenssl 3.0.11-1~deb12u2 3.0.13-1~deb12u1 CVE-2024-0727\n',
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runPlugin', () => {
  it('runs copa-<name> from PATH and converts its stdout; stderr goes to the debug log', async () => {
    const { logger, lines } = messages();
    const m = await runPlugin('fake', report, { env, logger });
    expect(m.source).toBe('plugin');
    expect(m.os).toEqual({ type: 'debian', version: '12' });
    expect(m.osUpdates.map((u) => [u.name, u.fixedVersion, u.vulnerabilityID])).toEqual([
      ['libssl3', '3.0.13-1~deb12u1', 'CVE-2024-0727'],
      ['openssl', '3.0.13-1~deb12u1', 'CVE-2024-0727'],
    ]);
    expect(lines).toContain(`copa-fake: copa-fake: converting ${report}`);
  });

  it('passes the report as one argv entry (absolute path), never through a shell', async () => {
    const odd = join(dir, 'my report; $(touch pwned).json');
    writeFileSync(odd, '{}');
    const m = await runPlugin('args', odd, { env });
    expect(m.os).toEqual({ type: 'argc-1', version: odd });
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(existsSync('pwned')).toBe(false);
  });

  it('reports a failing plugin with its exit code and last stderr line', async () => {
    const garbage = join(dir, 'garbage.txt');
    writeFileSync(garbage, 'not a scan\n');
    const err = await failure(runPlugin('fake', garbage, { env }));
    expect(err.code).toBe('REPORT');
    expect(err.message).toBe(
      `error running scanner fake: copa-fake exited with code 3: copa-fake: ${garbage} is not a fake-scanner report`,
    );
  });

  it('fails clearly when the plugin prints something other than one JSON document', async () => {
    const err = await failure(runPlugin('chatty', report, { env }));
    expect(err.message).toMatch(/^error parsing output of scanner chatty: /);
    expect(err.hint).toMatch(/stdout/);
  });

  it('rejects an unsupported apiVersion from the plugin', async () => {
    const err = await failure(runPlugin('future', report, { env }));
    expect(err.message).toBe('output of scanner future: unsupported apiVersion "v2"');
  });

  it('explains a plugin missing from PATH or not executable', async () => {
    const missing = await failure(runPlugin('nosuchplugin', report, { env }));
    expect([missing.code, missing.message]).toEqual([
      'ENVIRONMENT',
      'error running scanner nosuchplugin: copa-nosuchplugin was not found on PATH',
    ]);
    const noexec = await failure(runPlugin('noexec', report, { env }));
    expect(noexec.code).toBe('ENVIRONMENT');
    expect(noexec.message).toMatch(/^error running scanner noexec: /);
  });

  it('kills the plugin when cancelled', async () => {
    const ac = new AbortController();
    const run = runPlugin('sleepy', report, { env, signal: ac.signal });
    ac.abort();
    expect((await failure(run)).code).toBe('CANCELLED');
  });

  it('validates plugin names before running anything', async () => {
    for (const bad of ['', '-x', '../fake', 'a b', 'x;rm -rf /', 'fake/..', '_x']) {
      expect(() => validatePluginName(bad), bad).toThrow(CopaError);
      expect((await failure(runPlugin(bad, report, { env }))).code).toBe('USAGE');
    }
    for (const good of ['fake', 'grype', 'scout-scanner', 'x_1', '9'])
      expect(() => validatePluginName(good)).not.toThrow();
  });
});
