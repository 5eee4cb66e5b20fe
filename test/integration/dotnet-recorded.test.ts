import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageRoot, type ImageRoot } from '../../src/engine/native/index.js';
import { findLibrary, parseDepsJson } from '../../src/langmgr/dotnet/depsjson.js';
import { dotnetManager } from '../../src/langmgr/dotnet/manager.js';
import type { LanguageContext } from '../../src/langmgr/types.js';
import { silentLogger } from '../../src/log.js';
import type { UpdatePackage } from '../../src/report/types.js';
import { run } from '../helpers/exec.js';
import { writeRecordedApp, writeStandInSdk } from '../helpers/dotnet-fixtures.js';
import { ensureDebianFixture } from '../helpers/fixtures.js';

/**
 * The .NET manager on the real native engine: a Debian fixture with a recorded app in a layer (/app), and a
 * "tooling image" made of the same Debian plus the STAND-IN `dotnet` of test/helpers/dotnet-fixtures.ts (a
 * shell script that copies the recorded publish output: NuGet and mcr.microsoft.com are not reachable
 * here). Everything else is real: the manager's discovery, the tee/cp/mkdir steps in the tooling root over
 * the bound image, the deps.json rewrite, the validation reads, and the layer written from the overlay.
 */

let work: string;
let base: string;
let appLayer: string;
let sdkLayer: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-dotnet-'));
  const debian = await ensureDebianFixture({ name: 'bookworm-minbase' });
  base = join(work, 'base');
  await mkdir(base);
  await run('tar', ['-xf', debian.rootfsTar, '-C', base]);
  appLayer = join(work, 'app');
  await writeRecordedApp(appLayer);
  sdkLayer = join(work, 'sdk');
  await writeStandInSdk(sdkLayer);
}, 900_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const u = (name: string, from: string, to: string): UpdatePackage => ({
  name,
  installedVersion: from,
  fixedVersion: to,
  vulnerabilityID: `CVE-x-${name}`,
  type: 'dotnet-core',
  class: 'lang-pkgs',
  pkgPath: 'app/MyApp.deps.json',
});

function context(root: ImageRoot, tooling: string[]): LanguageContext {
  let exec = root.session;
  return {
    exec: () => exec,
    async withTooling(candidates, targetPath) {
      tooling.push(...candidates);
      exec = await root.reopen({ layerDirs: [base, sdkLayer], targetPath });
      return exec;
    },
    async withoutTooling() {
      exec = await root.reopen();
      return exec;
    },
    toolEnv: () => Promise.resolve({}),
    indexes: {},
    image: { env: [], labels: {}, history: [], platform: { os: 'linux', architecture: 'amd64' } },
    logger: silentLogger,
    ignoreErrors: false,
    dryRun: false,
    signal: new AbortController().signal,
  };
}

describe('[recorded] .NET swap on a real image root (SDK replaced by the recorded publish output)', () => {
  it('swaps the existing DLLs, merges runtimes/, rewrites deps.json; the layer holds only those files', async () => {
    const root = await openImageRoot({
      layerDirs: [base, appLayer],
      workDir: await mkdtemp(join(work, 'w-')),
      logger: silentLogger,
    });
    const tooling: string[] = [];
    let r;
    try {
      r = await dotnetManager.patch(context(root, tooling), [
        u('System.Text.Json', '8.0.0', '8.0.5'),
        u('Newtonsoft.Json', '12.0.1', '13.0.1'),
        u('System.Data.SqlClient', '4.8.5', '4.8.6'),
      ]);
    } finally {
      await root.session.close();
    }
    expect(tooling).toEqual(['mcr.microsoft.com/dotnet/sdk:8.0']);
    expect(r.failed).toEqual([]);
    expect(r.changes.map((c) => `${c.name} ${c.from} -> ${c.to} in ${c.path}`)).toEqual([
      'System.Text.Json 8.0.0 -> 8.0.5 in /app',
      'Newtonsoft.Json 12.0.1 -> 13.0.1 in /app',
      'System.Data.SqlClient 4.8.5 -> 4.8.6 in /app',
    ]);
    const layerTar = join(work, 'layer.tar');
    await root.writeLayer(layerTar, {
      compression: 'none',
      exclude: (rel) => root.created().some((c) => `/${rel}`.startsWith(c)),
    });
    const entries = execFileSync('tar', ['-tf', layerTar], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(entries.filter((e) => !e.endsWith('/'))).toEqual([
      'app/MyApp.deps.json',
      'app/Newtonsoft.Json.dll',
      'app/System.Data.SqlClient.dll',
      'app/runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll',
      'app/runtimes/win/lib/netcoreapp2.1/System.Data.SqlClient.dll',
    ]);
    // what a user would check: the files of the patched tree
    const out = join(work, 'layer');
    await mkdir(out);
    await run('tar', ['-xf', layerTar, '-C', out]);
    expect(await readFile(join(out, 'app/Newtonsoft.Json.dll'), 'utf8')).toContain('Newtonsoft.Json/13.0.1');
    expect(
      await readFile(join(out, 'app/runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll'), 'utf8'),
    ).toContain('System.Data.SqlClient/4.8.6 runtimes/unix');
    const deps = parseDepsJson(await readFile(join(out, 'app/MyApp.deps.json'), 'utf8'));
    expect(
      ['Newtonsoft.Json', 'System.Text.Json', 'System.Data.SqlClient', 'Serilog'].map(
        (n) => findLibrary(deps, n)?.key,
      ),
    ).toEqual([
      'Newtonsoft.Json/13.0.1',
      'System.Text.Json/8.0.5',
      'System.Data.SqlClient/4.8.6',
      'Serilog/3.1.1',
    ]);
  });

  it('a chiseled-like image (only /app: no shell, no find, no coreutils) is patched the same way', async () => {
    const root = await openImageRoot({
      layerDirs: [appLayer],
      workDir: await mkdtemp(join(work, 'w-')),
      logger: silentLogger,
    });
    let r;
    try {
      r = await dotnetManager.patch(context(root, []), [u('Newtonsoft.Json', '12.0.1', '13.0.1')]);
      expect((await root.session.readFile('/app/Newtonsoft.Json.dll'))?.toString()).toContain(
        'Newtonsoft.Json/13.0.1',
      );
    } finally {
      await root.session.close();
    }
    expect(r.changes.map((c) => `${c.name} ${c.to}`)).toEqual(['Newtonsoft.Json 13.0.1']);
    expect(r.failed).toEqual([]);
  });
});
