import { describe, expect, it } from 'vitest';
import { parseDepsJson, updateDepsJson, type DepsJson } from './depsjson.js';
import { OUT_DIR, publishedPackage, type Published } from './project.js';
import { recordedText } from './recorded.js';
import { planSwap, stepArgv } from './swap.js';

const pub = (name: string): Published => {
  const p = publishedPackage(parseDepsJson(recordedText('patch.deps.json')), name);
  if (!p) throw new Error(name);
  return p;
};
const OUT = new Set([
  'Newtonsoft.Json.dll',
  'System.Data.SqlClient.dll',
  'System.Text.Json.dll',
  'patch.dll',
  'runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll',
  'runtimes/win/lib/netcoreapp2.1/System.Data.SqlClient.dll',
]);

describe('[recorded] swap plan', () => {
  it('a self-contained linux-x64 app keeps the unix build of a RID-specific DLL, at its own deps.json path', () => {
    const T = '.NETCoreApp,Version=v8.0/linux-x64';
    const KEY = 'runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll';
    const deps: DepsJson = {
      runtimeTarget: { name: T },
      targets: {
        [T]: {
          'System.Data.SqlClient/4.8.5': {
            runtime: { [KEY]: { assemblyVersion: '4.6.1.5', fileVersion: '4.700.22.51706' } },
          },
          'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.11': {
            runtime: { 'System.Runtime.dll': {} },
          },
        },
      },
      libraries: { 'System.Data.SqlClient/4.8.5': { type: 'package', sha512: 'old' } },
    };
    const plan = planSwap(
      {
        appDir: '/srv/app',
        appFiles: ['App.dll', 'System.Data.SqlClient.dll'],
        deps,
        outDir: OUT_DIR,
        outPaths: OUT,
      },
      [{ name: 'System.Data.SqlClient', from: '4.8.5', pub: pub('System.Data.SqlClient') }],
    );
    expect(plan.steps.map((s) => stepArgv(s, '/tmp/rootfs').join(' '))).toEqual([
      `cp -f -- ${OUT_DIR}/${KEY} /tmp/rootfs/srv/app/System.Data.SqlClient.dll`,
    ]);
    expect(plan.stale).toEqual([]);
    const after = updateDepsJson(deps, plan.patched);
    expect(after.targets?.[T]?.['System.Data.SqlClient/4.8.6']?.runtime).toEqual({
      [KEY]: { assemblyVersion: '4.6.1.6', fileVersion: '4.700.23.52603' },
    });
  });

  it('never adds a DLL, never copies the project assembly, reports framework-resolved packages as deps-only', () => {
    const deps = parseDepsJson(recordedText('MyApp.deps.json'));
    const plan = planSwap(
      {
        appDir: '/app',
        appFiles: ['MyApp.dll', 'patch.dll', 'MyApp.deps.json'],
        deps,
        outDir: OUT_DIR,
        outPaths: OUT,
      },
      [
        { name: 'System.Text.Json', from: '8.0.0', pub: pub('System.Text.Json') },
        { name: 'Newtonsoft.Json', from: '12.0.1', pub: pub('Newtonsoft.Json') },
      ],
    );
    expect(plan.steps).toEqual([]);
    expect(plan.depsOnly).toEqual(['System.Text.Json', 'Newtonsoft.Json']);
  });
});
