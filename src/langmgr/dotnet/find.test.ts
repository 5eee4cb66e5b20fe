import { describe, expect, it } from 'vitest';
import { excludedPath, findApp, safePath } from './find.js';
import { recordedExecutor } from './recorded.js';

describe('[recorded] finding the .NET app', () => {
  it("skips the SDK, shared framework, NuGet cache and temp trees (Copa's list, plus .NET installs elsewhere)", () => {
    for (const p of [
      '/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json',
      '/usr/local/share/x.deps.json',
      '/root/.nuget/packages/a/1.0.0/a.deps.json',
      '/tmp/x.deps.json',
      '/usr/lib/dotnet/shared/Microsoft.AspNetCore.App/8.0.0/Microsoft.AspNetCore.App.deps.json',
      '/opt/dotnet/sdk/8.0.100/dotnet.deps.json',
      '/home/app/.dotnet/tools/.store/x/1.0/x.deps.json',
    ]) {
      expect(excludedPath(p), p).toBe(true);
    }
    for (const p of ['/app/MyApp.deps.json', '/opt/dotnetapp/Web.deps.json', '/srv/dotnet/MyApp.deps.json']) {
      expect(excludedPath(p), p).toBe(false);
    }
    expect(safePath('/app/MyApp.deps.json')).toBe(true);
    for (const p of ['/app/../etc/x.deps.json', 'app/x', '/app/a b.deps.json', '/app/$(x).deps.json']) {
      expect(safePath(p), p).toBe(false);
    }
  });

  it('prefers the shallowest deps.json of the walk; the framework falls back to the runtimeconfig, then 8.0', async () => {
    const exec = recordedExecutor();
    exec.image.set(
      '/usr/lib/dotnet/shared/Microsoft.NETCore.App/6.0.0/Microsoft.NETCore.App.deps.json',
      Buffer.from('{}'),
    );
    exec.image.set('/usr/lib/dotnet', 'dir');
    const app = await findApp(exec, []);
    expect([app?.depsPath, app?.appDir, app?.framework]).toEqual(['/app/MyApp.deps.json', '/app', '8.0']);
    expect(app?.files).toContain('Newtonsoft.Json.dll');

    exec.image.set('/app/MyApp.deps.json', Buffer.from('{"runtimeTarget":{"name":""},"libraries":{}}'));
    exec.image.set(
      '/app/MyApp.runtimeconfig.json',
      Buffer.from('{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"6.0.25"}}}'),
    );
    expect((await findApp(exec, ['app/MyApp.deps.json']))?.framework).toBe('6.0');
    exec.image.delete('/app/MyApp.runtimeconfig.json');
    expect((await findApp(exec, ['/app']))?.framework).toBe('8.0');
  });

  it('an unreadable deps.json is an error; a report path outside the image or unsafe is ignored', async () => {
    const exec = recordedExecutor();
    exec.image.set('/app/MyApp.deps.json', Buffer.from('not json'));
    await expect(findApp(exec, [])).rejects.toThrow(/\/app\/MyApp.deps.json is not a deps.json/);
    const clean = recordedExecutor();
    expect((await findApp(clean, ['../../etc/x.deps.json', 'nowhere/x.deps.json']))?.depsPath).toBe(
      '/app/MyApp.deps.json',
    );
  });
});
