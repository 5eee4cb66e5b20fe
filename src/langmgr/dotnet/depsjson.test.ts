import { describe, expect, it } from 'vitest';
import {
  findLibrary,
  formatDepsJson,
  frameworkOf,
  parseDepsJson,
  updateDepsJson,
  type PatchedPackage,
} from './depsjson.js';
import { publishedPackage } from './project.js';
import { recordedText } from './recorded.js';

const app = () => parseDepsJson(recordedText('MyApp.deps.json'));
const pub = () => parseDepsJson(recordedText('patch.deps.json'));
const T = '.NETCoreApp,Version=v8.0';

function patchedFromPublish(name: string, from: string): PatchedPackage {
  const p = publishedPackage(pub(), name);
  if (!p) throw new Error(name);
  return {
    name: p.name,
    from,
    to: p.version,
    sha512: p.sha512,
    runtime: p.runtime,
    runtimeTargets: p.runtimeTargets,
  };
}

describe('[recorded] deps.json', () => {
  it('reads the framework, the libraries (any case) and the published entries', () => {
    expect(frameworkOf(app())).toBe('8.0');
    expect(frameworkOf({ libraries: { 'Microsoft.NETCore.App/6.0.25': {} } })).toBe('6.0');
    expect(
      frameworkOf({ targets: { x: { 'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/9.0.1': {} } } }),
    ).toBe('9.0');
    expect(frameworkOf({})).toBeUndefined();
    expect(findLibrary(app(), 'newtonsoft.json')).toEqual({
      key: 'Newtonsoft.Json/12.0.1',
      name: 'Newtonsoft.Json',
      version: '12.0.1',
    });
    expect(publishedPackage(pub(), 'System.Text.Json')?.version).toBe('8.0.5');
  });

  it('updateDepsJson moves each package to its new version with the published hash and asset versions', () => {
    const before = app();
    const after = updateDepsJson(before, [
      patchedFromPublish('Newtonsoft.Json', '12.0.1'),
      patchedFromPublish('System.Text.Json', '8.0.0'),
    ]);
    expect(before.libraries?.['Newtonsoft.Json/12.0.1']).toBeDefined(); // pure: the input is untouched
    const libs = after.libraries ?? {};
    expect(libs['Newtonsoft.Json/12.0.1']).toBeUndefined();
    expect(libs['Newtonsoft.Json/13.0.1']).toEqual({
      type: 'package',
      serviceable: true,
      sha512: pub().libraries?.['Newtonsoft.Json/13.0.1']?.sha512,
      path: 'newtonsoft.json/13.0.1',
      hashPath: 'newtonsoft.json.13.0.1.nupkg.sha512',
    });
    // the key keeps its place in the file
    expect(Object.keys(libs).indexOf('Newtonsoft.Json/13.0.1')).toBe(
      Object.keys(app().libraries ?? {}).indexOf('Newtonsoft.Json/12.0.1'),
    );
    const t = after.targets?.[T] ?? {};
    expect(t['MyApp/1.0.0']?.dependencies).toEqual({
      'Newtonsoft.Json': '13.0.1',
      Serilog: '3.1.1',
      'System.Data.SqlClient': '4.8.5',
      'System.Text.Json': '8.0.5',
    });
    expect(t['Newtonsoft.Json/13.0.1']?.runtime).toEqual({
      'lib/netstandard2.0/Newtonsoft.Json.dll': { assemblyVersion: '13.0.0.0', fileVersion: '13.0.1.25517' },
    });
    // framework-resolved: no asset before, none added
    expect(t['System.Text.Json/8.0.5']).toEqual({});
    // everything else as it was
    expect(t['Serilog/3.1.1']).toEqual(app().targets?.[T]?.['Serilog/3.1.1']);
    expect(t['System.Data.SqlClient/4.8.5']).toEqual(app().targets?.[T]?.['System.Data.SqlClient/4.8.5']);
    expect(after.runtimeTarget).toEqual(app().runtimeTarget);
  });

  it('replaces the RID assets of a package that has them, and applies plain versions when nothing was published', () => {
    const after = updateDepsJson(app(), [
      patchedFromPublish('System.Data.SqlClient', '4.8.5'),
      {
        name: 'Serilog',
        from: '3.1.1',
        to: '3.1.2',
        sha512: 'sha512-x',
        assemblyVersion: '2.0.0.0',
        fileVersion: '3.1.2.0',
      },
    ]);
    const t = after.targets?.[T] ?? {};
    const sql = t['System.Data.SqlClient/4.8.6'];
    expect(sql?.runtime?.['lib/netcoreapp2.1/System.Data.SqlClient.dll']?.fileVersion).toBe('4.700.23.52603');
    expect(sql?.runtimeTargets?.['runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll']).toMatchObject({
      rid: 'unix',
      assemblyVersion: '4.6.1.6',
    });
    expect(sql?.dependencies).toEqual(app().targets?.[T]?.['System.Data.SqlClient/4.8.5']?.dependencies);
    expect(t['Serilog/3.1.2']?.runtime).toEqual({
      'lib/net7.0/Serilog.dll': { assemblyVersion: '2.0.0.0', fileVersion: '3.1.2.0' },
    });
  });

  it('leaves a package alone when the file has another version than `from`', () => {
    const after = updateDepsJson(app(), [
      { name: 'Newtonsoft.Json', from: '11.0.2', to: '13.0.1', sha512: 'x' },
    ]);
    expect(formatDepsJson(after)).toBe(formatDepsJson(app()));
    expect(formatDepsJson(app())).toBe(recordedText('MyApp.deps.json'));
  });

  it('rejects what is not a deps.json', () => {
    expect(() => parseDepsJson('[]')).toThrow(/not a JSON object/);
    expect(() => parseDepsJson('{"libraries": []}')).toThrow(/libraries/);
  });
});
