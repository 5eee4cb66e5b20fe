import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { silentLogger } from '../../log.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext } from '../types.js';
import { findLibrary, parseDepsJson } from './depsjson.js';
import { patchDotnet } from './manager.js';
import { OUT_DIR } from './project.js';
import { recordedExecutor, type RecordedExecutor, type RecordedOptions } from './recorded.js';

const u = (
  name: string,
  installedVersion: string,
  fixedVersion: string,
  pkgPath = 'app/MyApp.deps.json',
): UpdatePackage => ({
  name,
  installedVersion,
  fixedVersion,
  vulnerabilityID: `CVE-${name}`,
  type: 'dotnet-core',
  class: 'lang-pkgs',
  pkgPath,
});
const REPORT = [
  u('System.Text.Json', '8.0.0', '8.0.5'),
  u('Newtonsoft.Json', '12.0.1', '13.0.1'),
  u('System.Data.SqlClient', '4.8.5', '4.8.6'),
];

function setup(o: { dryRun?: boolean; ignoreErrors?: boolean } & RecordedOptions = {}) {
  const exec = recordedExecutor(o);
  const tooling: string[][] = [];
  const ctx: LanguageContext = {
    exec: () => exec,
    withTooling(candidates, targetPath) {
      tooling.push([...candidates, targetPath]);
      return Promise.resolve(exec);
    },
    withoutTooling: () => Promise.resolve(exec),
    toolEnv: () => Promise.resolve({ SSL_CERT_FILE: '/run/copa-ca.pem' }),
    indexes: {},
    image: { env: [], labels: {}, history: [], platform: { os: 'linux', architecture: 'amd64' } },
    logger: silentLogger,
    ignoreErrors: o.ignoreErrors ?? false,
    dryRun: o.dryRun ?? false,
    signal: new AbortController().signal,
  };
  return { exec, ctx, tooling };
}

const deps = (exec: RecordedExecutor) =>
  parseDepsJson(exec.image.get('/app/MyApp.deps.json')?.toString() ?? '');
const tooled = (exec: RecordedExecutor) =>
  exec.calls.filter((c) => c.in === 'tooling').map((c) => c.argv.join(' '));

describe('[recorded] .NET manager over recordedExecutor (the SDK cannot run here)', () => {
  it('dry run: plans from the deps.json, runs nothing, opens no SDK image', async () => {
    const { exec, ctx, tooling } = setup({ dryRun: true });
    const r = await patchDotnet(ctx, [
      ...REPORT,
      u('Serilog', '3.1.1', '3.1.1'),
      u('Absent.Pkg', '1.0.0', '1.0.1'),
    ]);
    expect(r.changes).toEqual([
      { type: 'dotnet-core', name: 'System.Text.Json', path: '/app', from: '8.0.0', to: '8.0.5' },
      { type: 'dotnet-core', name: 'Newtonsoft.Json', path: '/app', from: '12.0.1', to: '13.0.1' },
      { type: 'dotnet-core', name: 'System.Data.SqlClient', path: '/app', from: '4.8.5', to: '4.8.6' },
    ]);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'already at 3.1.1 (fix 3.1.1)',
      'not listed in /app/MyApp.deps.json',
    ]);
    expect(exec.calls).toEqual([]);
    expect(tooling).toEqual([]);
  });

  it('finds the app without a pkgPath (walk), skipping the SDK/shared trees', async () => {
    const { ctx } = setup({ dryRun: true });
    const r = await patchDotnet(ctx, [u('Newtonsoft.Json', '12.0.1', '13.0.1', '')]);
    expect(r.changes.map((c) => c.path)).toEqual(['/app']);
  });

  it('publishes in the SDK image of the framework, swaps only existing DLLs, rewrites deps.json', async () => {
    const { exec, ctx, tooling } = setup();
    const r = await patchDotnet(ctx, REPORT);
    expect(tooling).toEqual([['mcr.microsoft.com/dotnet/sdk:8.0', '/tmp/rootfs']]);
    expect(tooled(exec)).toEqual([
      'rm -rf -- /tmp/copa-dotnet /tmp/copa-dotnet-out',
      'mkdir -p -- /tmp/copa-dotnet',
      'tee -- /tmp/copa-dotnet/patch.csproj',
      'dotnet restore /tmp/copa-dotnet/patch.csproj',
      `dotnet publish /tmp/copa-dotnet/patch.csproj --no-restore -c Release -o ${OUT_DIR}`,
      `cp -f -- ${OUT_DIR}/Newtonsoft.Json.dll /tmp/rootfs/app/Newtonsoft.Json.dll`,
      `cp -f -- ${OUT_DIR}/System.Data.SqlClient.dll /tmp/rootfs/app/System.Data.SqlClient.dll`,
      'mkdir -p -- /tmp/rootfs/app/runtimes/unix/lib/netcoreapp2.1',
      `cp -f -- ${OUT_DIR}/runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll /tmp/rootfs/app/runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll`,
      'mkdir -p -- /tmp/rootfs/app/runtimes/win/lib/netcoreapp2.1',
      `cp -f -- ${OUT_DIR}/runtimes/win/lib/netcoreapp2.1/System.Data.SqlClient.dll /tmp/rootfs/app/runtimes/win/lib/netcoreapp2.1/System.Data.SqlClient.dll`,
      'tee -- /tmp/rootfs/app/MyApp.deps.json',
    ]);
    const csproj = exec.calls.find((c) => c.argv[0] === 'tee')?.stdin ?? '';
    expect(csproj).toContain('<TargetFramework>net8.0</TargetFramework>');
    expect(csproj).toContain('<NoWarn>$(NoWarn);NU1605</NoWarn>');
    expect(csproj).toContain('<PackageReference Include="Newtonsoft.Json" Version="13.0.1" />');
    const env = exec.calls.find((c) => c.argv[1] === 'restore')?.env ?? {};
    expect(env).toMatchObject({
      NUGET_PACKAGES: '/tmp/copa-nuget-packages',
      DOTNET_CLI_HOME: '/tmp/copa-dotnet-home',
    });
    expect(env.SSL_CERT_FILE).toBe('/run/copa-ca.pem');
    expect(r.changes.map((c) => `${c.name} ${c.from}->${c.to}`)).toEqual([
      'System.Text.Json 8.0.0->8.0.5',
      'Newtonsoft.Json 12.0.1->13.0.1',
      'System.Data.SqlClient 4.8.5->4.8.6',
    ]);
    expect(r.failed).toEqual([]);
    expect(r.excluded).toEqual([]);
    expect(exec.image.get('/app/Newtonsoft.Json.dll')?.toString()).toContain('Newtonsoft.Json/13.0.1');
    expect(exec.image.has('/app/System.Text.Json.dll')).toBe(false); // never a new DLL
    expect(exec.image.has('/app/patch.dll')).toBe(false);
    const d = deps(exec);
    expect(
      ['Newtonsoft.Json', 'System.Text.Json', 'System.Data.SqlClient', 'Serilog'].map(
        (n) => findLibrary(d, n)?.version,
      ),
    ).toEqual(['13.0.1', '8.0.5', '4.8.6', '3.1.1']);
  });

  it('an app NuGet.Config is handed to the restore', async () => {
    const { exec, ctx } = setup();
    exec.image.set('/app/NuGet.Config', Buffer.from('<configuration/>'));
    await patchDotnet(ctx, REPORT.slice(1, 2));
    expect(tooled(exec)).toContain('cp -- /tmp/rootfs/app/NuGet.Config /tmp/copa-dotnet/NuGet.Config');
  });

  it('a failed restore is a PACKAGE_MANAGER error; with --ignore-errors it is retried per package', async () => {
    const failing = (csproj: string) => (csproj.includes('Newtonsoft') ? 1 : 0);
    await expect(patchDotnet(setup({ restore: failing }).ctx, REPORT)).rejects.toMatchObject({
      code: 'PACKAGE_MANAGER',
    });
    const { exec, ctx } = setup({ restore: failing, ignoreErrors: true });
    const r = await patchDotnet(ctx, REPORT);
    expect(r.failed.map((f) => [f.name, f.installed, f.required])).toEqual([
      ['Newtonsoft.Json', '12.0.1', '13.0.1'],
    ]);
    expect(r.failed[0]?.reason).toMatch(/dotnet restore: .*NU1102/);
    expect(r.changes.map((c) => c.name)).toEqual(['System.Text.Json', 'System.Data.SqlClient']);
    expect(findLibrary(deps(exec), 'Newtonsoft.Json')?.version).toBe('12.0.1');
    expect(exec.image.get('/app/Newtonsoft.Json.dll')?.toString()).toContain('Newtonsoft.Json/12.0.1');
  });

  it('a copy that fails is a VALIDATION error; --ignore-errors keeps the others and leaves its deps.json entry', async () => {
    const failCopyTo = '/app/Newtonsoft.Json.dll';
    const err: unknown = await patchDotnet(setup({ failCopyTo }).ctx, REPORT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('VALIDATION');
    expect((err as CopaError).message).toMatch(/Newtonsoft.Json.*copy \/app\/Newtonsoft.Json.dll/);
    const { exec, ctx } = setup({ failCopyTo, ignoreErrors: true });
    const r = await patchDotnet(ctx, REPORT);
    expect(r.failed.map((f) => f.name)).toEqual(['Newtonsoft.Json']);
    expect(r.changes.map((c) => c.name)).toEqual(['System.Text.Json', 'System.Data.SqlClient']);
    expect(findLibrary(deps(exec), 'Newtonsoft.Json')?.version).toBe('12.0.1');
    expect(findLibrary(deps(exec), 'System.Data.SqlClient')?.version).toBe('4.8.6');
  });

  it('an app DLL the publish output has no replacement for fails the package (no deps.json lie)', async () => {
    const { exec, ctx } = setup({ omit: ['System.Data.SqlClient.dll'], ignoreErrors: true });
    const r = await patchDotnet(ctx, REPORT);
    expect(r.failed.map((f) => [f.name, f.reason])).toEqual([
      ['System.Data.SqlClient', '/app/System.Data.SqlClient.dll has no replacement in the publish output'],
    ]);
    expect(findLibrary(deps(exec), 'System.Data.SqlClient')?.version).toBe('4.8.5');
  });

  it('report data is checked: a bad name or version is refused before anything runs', async () => {
    const bad = [u('Newtonsoft.Json;rm -rf /', '1', '2'), u('Newtonsoft.Json', '12.0.1', '13.0.1 || x')];
    await expect(patchDotnet(setup().ctx, bad)).rejects.toMatchObject({ code: 'PACKAGE_NAME' });
    const { exec, ctx } = setup({ ignoreErrors: true });
    const r = await patchDotnet(ctx, [...bad, REPORT[1] as UpdatePackage]);
    expect(r.failed.map((f) => f.reason)).toEqual([
      'invalid NuGet name',
      'invalid NuGet version "13.0.1 || x"',
    ]);
    expect(r.changes.map((c) => c.name)).toEqual(['Newtonsoft.Json']);
    expect(exec.calls.some((c) => c.argv.join(' ').includes('rm -rf /'))).toBe(false);
  });

  it('no deps.json in the image: every entry skipped, nothing run', async () => {
    const { exec, ctx } = setup({ appOmit: ['MyApp.deps.json'] });
    const r = await patchDotnet(ctx, REPORT);
    expect(r.skipped).toHaveLength(3);
    expect(r.changes).toEqual([]);
    expect(exec.calls).toEqual([]);
  });
});
