/**
 * The restore/publish step: a throw-away `patch.csproj` with one PackageReference per fixed package, restored
 * and published by the SDK of the app's framework in the tooling root's own /tmp (never in the image).
 */
import type { Executor, RunResult } from '../../engine/types.js';
import { findLibrary, targetEntries, type AssetInfo, type DepsJson } from './depsjson.js';

/** where the SDK image sees the image being patched */
export const TARGET = '/tmp/rootfs';
/** scratch dirs of the tooling root (tmpfs, thrown away) */
export const PROJECT_DIR = '/tmp/copa-dotnet';
export const OUT_DIR = '/tmp/copa-dotnet-out';
export const PROJECT = 'patch';

export interface Planned {
  name: string;
  from: string;
  to: string;
}

/** the SDK image of a framework: mcr.microsoft.com/dotnet/sdk:<major.minor> */
export function sdkImage(framework: string): string {
  return `mcr.microsoft.com/dotnet/sdk:${framework}`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** the project file (names and versions were validated; escaped all the same) */
export function projectFile(framework: string, packages: readonly Planned[]): string {
  const refs = packages.map(
    (p) => `    <PackageReference Include="${xml(p.name)}" Version="${xml(p.to)}" />`,
  );
  return [
    '<Project Sdk="Microsoft.NET.Sdk">',
    '  <PropertyGroup>',
    `    <TargetFramework>net${xml(framework)}</TargetFramework>`,
    '    <OutputType>Library</OutputType>',
    '    <NoWarn>$(NoWarn);NU1605</NoWarn>',
    '    <SatelliteResourceLanguages>en</SatelliteResourceLanguages>',
    '    <GenerateDocumentationFile>false</GenerateDocumentationFile>',
    '  </PropertyGroup>',
    '  <ItemGroup>',
    ...refs,
    '  </ItemGroup>',
    '</Project>',
    '',
  ].join('\n');
}

/** env of the SDK: every cache and home in the tooling root's /tmp, no telemetry, no first-run work */
export function sdkEnv(): Record<string, string> {
  return {
    DOTNET_CLI_HOME: '/tmp/copa-dotnet-home',
    NUGET_PACKAGES: '/tmp/copa-nuget-packages',
    NUGET_HTTP_CACHE_PATH: '/tmp/copa-nuget-http',
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
    DOTNET_GENERATE_ASPNET_CERTIFICATE: 'false',
    DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE: '1',
  };
}

/** the argv steps of the restore/publish, in order (all in the tooling root) */
export function publishSteps(
  appDir: string,
  hasNugetConfig: string | undefined,
): Array<{ argv: string[]; stdin?: string }> {
  const csproj = `${PROJECT_DIR}/${PROJECT}.csproj`;
  const steps: Array<{ argv: string[]; stdin?: string }> = [
    { argv: ['mkdir', '-p', '--', PROJECT_DIR] },
    { argv: ['tee', '--', csproj] },
  ];
  // the app's own NuGet.Config (private feeds) is honoured: restore reads the one beside the project
  if (hasNugetConfig)
    steps.push({ argv: ['cp', '--', `${TARGET}${appDir}/${hasNugetConfig}`, `${PROJECT_DIR}/NuGet.Config`] });
  steps.push(
    { argv: ['dotnet', 'restore', csproj] },
    { argv: ['dotnet', 'publish', csproj, '--no-restore', '-c', 'Release', '-o', OUT_DIR] },
  );
  return steps;
}

/** the NuGet config file name in the app dir, if any (NuGet.Config, nuget.config, NuGet.config) */
export function nugetConfigName(files: readonly string[]): string | undefined {
  return files.find((f) => f.toLowerCase() === 'nuget.config');
}

export async function runPublish(
  exec: Executor,
  framework: string,
  packages: readonly Planned[],
  appDir: string,
  files: readonly string[],
  env: Record<string, string>,
  onOutput?: (stream: 'stdout' | 'stderr', data: string) => void,
): Promise<RunResult> {
  const csproj = projectFile(framework, packages);
  for (const s of publishSteps(appDir, nugetConfigName(files))) {
    const stdin = s.argv[0] === 'tee' ? csproj : s.stdin;
    const r = await exec.run(s.argv, {
      in: 'tooling',
      env,
      ...(stdin !== undefined ? { stdin } : {}),
      ...(onOutput && s.argv[0] === 'dotnet' ? { onOutput } : {}),
    });
    if (r.code !== 0)
      return { ...r, stderr: `${s.argv.slice(0, 2).join(' ')}: ${lastLines(r.stdout + '\n' + r.stderr)}` };
  }
  return { code: 0, stdout: '', stderr: '' };
}

function lastLines(text: string, n = 4): string {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 600);
}

/** what the publish output says of one package: its version, hash and assets */
export interface Published {
  name: string;
  version: string;
  sha512: string;
  runtime: Record<string, AssetInfo>;
  runtimeTargets: Record<string, AssetInfo>;
}

export function publishedPackage(pub: DepsJson, name: string): Published | undefined {
  const lib = findLibrary(pub, name);
  if (!lib) return undefined;
  const runtime: Record<string, AssetInfo> = {};
  const runtimeTargets: Record<string, AssetInfo> = {};
  for (const e of targetEntries(pub, lib.key)) {
    Object.assign(runtime, e.runtime ?? {});
    Object.assign(runtimeTargets, e.runtimeTargets ?? {});
  }
  const sha512 = pub.libraries?.[lib.key]?.sha512 ?? '';
  return { name: lib.name, version: lib.version, sha512, runtime, runtimeTargets };
}
