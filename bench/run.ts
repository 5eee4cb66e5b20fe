/**
 * `npm run bench`: patch time, CPU, memory, layer size and registry traffic of the real CLI, side by side
 * with the rebuild users do today (buildah) and the physical floor (apt in an extracted chroot + gzip).
 * See bench/README.md. Needs root (like the CLI) and a Debian mirror in the host's apt sources.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { pushFixture } from '../test/helpers/fixtures.js';
import { startRegistry } from '../test/helpers/registry.js';
import { trivyReport } from '../test/helpers/trivy.js';
import { removeTree } from '../test/helpers/upgradable.js';
import { buildahContender, buildahW4Contender } from './buildah.js';
import { daemonPaths, peerPaths } from './buildkit.js';
import { pushW4Images, W4_REPO, W4_TAGS } from './bulk.js';
import type { BenchContext, Contender } from './contender.js';
import { floorContender } from './floor.js';
import { copaGoEnv, copaGoW4Contender, type CopaGoEnv } from './peer.js';
import { copaGoSingleContenders, ourBkSingleContenders, ourSingleContenders, SMALL } from './single.js';
import { toolingSource } from './tooling.js';
import { w3Contenders, w3Plan, W3_IDS } from './w3.js';
import { copaW4BulkContender, copaW4SeparateContender, type W4Source } from './w4.js';
import { w6Contenders } from './w6.js';
import { w6Targets } from './w6-targets.js';
import { ensureBenchImages } from './images.js';
import { describeMachine, load } from './machine.js';
import { stopAll } from './measure.js';
import {
  finishRun,
  readResults,
  renderMarkdown,
  renderText,
  updateReadme,
  writeResults,
  type BenchRun,
  type ImageFacts,
} from './output.js';
import { startCountingProxy } from './proxy.js';
import { executeRounds, setAside } from './rounds.js';
import type { ContenderResult } from './stats.js';
import { installHint, installTools, missingTools, type Tool } from './tools.js';
import { cliAtRef, givenCli, workingTreeCli, type BenchCli } from './cli.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(REPO, 'bench/results');
const FACTOR = 10;

interface Flags {
  rounds: number;
  only?: string[];
  cli?: string;
  ref?: string;
  fromJson?: string;
  profile: boolean;
  installTools: boolean;
  updateReadme: boolean;
  peerCopa?: string;
  buildkitd?: string;
  buildctl?: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return n;
}

const flags = new Command('npm run bench --')
  .description('Benchmark copa patch against a buildah rebuild and the apt-in-a-chroot floor')
  .option('--rounds <n>', 'rounds per contender (medians are reported)', positiveInt, 3)
  .option('--only <ids>', 'comma-separated contender or workload ids, e.g. w6 (default: all)', (v) =>
    v.split(',').filter(Boolean),
  )
  .option('--cli <main.js>', 'CLI to measure (default: build dist/ and use dist/cli/main.js)')
  .option(
    '--ref <git-ref>',
    'measure a clean build of this commit instead of the working tree (e.g. HEAD, HEAD~3)',
  )
  .option('--no-profile', 'skip the extra --debug run per copa workload (phase timings)')
  .option(
    '--install-tools',
    'apt-get install the missing Debian packages (buildah, docker-registry, …)',
    false,
  )
  .option('--update-readme', 'write the result table into README.md (## Benchmark)', false)
  .option('--from-json <file>', 'measure nothing: print (and with --update-readme, publish) a saved result')
  .option(
    '--peer-copa <path>',
    'the original Copa binary (v0.14.2) for the copa-go rows (or COPA_BENCH_COPA)',
  )
  .option(
    '--buildkitd <path>',
    'buildkitd binary the bench starts for the original Copa (or COPA_BENCH_BUILDKITD)',
  )
  .option('--buildctl <path>', 'buildctl binary matching --buildkitd (or COPA_BENCH_BUILDCTL)')
  .parse()
  .opts<Flags>();

const log = (m: string): void => {
  process.stderr.write(`bench: ${m}\n`);
};

async function publish(run: BenchRun, jsonPath: string): Promise<void> {
  process.stdout.write(renderText(run) + '\n');
  if (flags.updateReadme) {
    await updateReadme(join(REPO, 'README.md'), renderMarkdown(run, basename(jsonPath)));
    log('README.md "## Benchmark" updated');
  }
}

async function main(): Promise<void> {
  if (flags.fromJson) {
    await publish(await readResults(flags.fromJson), flags.fromJson);
    return;
  }
  if (process.getuid?.() !== 0)
    throw new Error('the bench needs root (the CLI mounts overlayfs in namespaces): run it with sudo');
  let missing = missingTools();
  if (flags.installTools) missing = await installTools(missing, log);
  const required = missing.filter((t) => !t.optionalFor);
  if (required.length > 0)
    throw new Error(`missing tools: ${required.map((t) => t.command).join(', ')} — ${installHint(required)}`);
  for (const t of missing) log(`${t.command} not found: ${t.optionalFor} is skipped — ${installHint([t])}`);

  if (flags.cli && flags.ref) throw new Error('give --cli or --ref, not both');
  const cli = flags.cli
    ? givenCli(flags.cli)
    : flags.ref
      ? await cliAtRef(REPO, flags.ref, log)
      : workingTreeCli(REPO, log);
  try {
    await measureAll(cli, missing);
  } finally {
    await cli.cleanup();
  }
}

async function measureAll(cli: BenchCli, missing: Tool[]): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = load();
  const images = await ensureBenchImages(FACTOR, log);
  const upgradable = images.upgradable;
  log(`${upgradable.length} upgradable packages today: ${upgradable.map((u) => u.name).join(' ')}`);

  const workDir = await mkdtemp(join(tmpdir(), `copa-bench-${process.pid}-`));
  const registry = await startRegistry();
  const proxy = await startCountingProxy(registry.host);
  let copaGo: CopaGoEnv | undefined;
  let aborted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping`);
    aborted = true;
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    log(`registry ${registry.host}, counting proxy ${proxy.host}`);
    const pushed = {
      small: await pushFixture(
        images.small.layoutDir,
        images.small.refName,
        registry.host,
        'bench/debian:12',
      ),
      big: await pushFixture(images.big.layoutDir, images.big.refName, registry.host, 'bench/debian-10x:12'),
    };
    const report = (image: string): string =>
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image,
        vulns: upgradable.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
      });
    const smallReport = join(workDir, 'report-small.json');
    const bigReport = join(workDir, 'report-10x.json');
    await writeFile(smallReport, report(`${proxy.host}/bench/debian:12`));
    await writeFile(bigReport, report(`${proxy.host}/bench/debian-10x:12`));

    const ctx: BenchContext = {
      workDir,
      cli: cli.path,
      proxyHost: proxy.host,
      proxy,
      registryHost: registry.host,
      upgradable: upgradable.map((u) => u.name),
      log,
      keepLog: async (name, text) => {
        const path = join(RESULTS, `${startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}-${name}.log`);
        await mkdir(RESULTS, { recursive: true });
        await writeFile(path, text);
        return path;
      },
    };
    const n = upgradable.length;
    let w4Pushed: Promise<void> | undefined;
    const w4: W4Source = {
      repository: W4_REPO,
      tags: W4_TAGS,
      ensure: () =>
        (w4Pushed ??= pushW4Images({ small: images.small, workDir, registryHost: registry.host }).then(() =>
          log(`W4: ${W4_TAGS.length} tags pushed as ${W4_REPO}:${W4_TAGS[0]}…${W4_TAGS.at(-1)}`),
        )),
    };
    const sources = { count: n, smallReport, bigReport };
    // the original Copa: its rows are listed even without its binaries (then they say n/a and why); ours on
    // the BuildKit engine runs on the same buildkitd and needs only the daemon's binaries
    const peer = peerPaths(flags);
    const daemon = daemonPaths(flags);
    const tooling = toolingSource(images.fixture, ctx);
    if (typeof daemon !== 'string')
      copaGo = copaGoEnv({ copa: typeof peer === 'string' ? '' : peer.copa, ...daemon }, ctx, tooling);
    // without the binaries the rows are replaced by n/a rows below and never run
    const env: CopaGoEnv = copaGo ?? {
      paths: { copa: '', buildkitd: '', buildctl: '' },
      ready: () => Promise.reject(new Error(typeof daemon === 'string' ? daemon : 'unavailable')),
      stop: () => Promise.resolve(),
    };
    const wantW3 = !flags.only || flags.only.some((id) => id === 'w3' || W3_IDS.includes(id));
    const w3plan = wantW3 ? await w3Plan(ctx) : undefined;
    const w3 = w3Contenders(ctx, env, tooling, w3plan);
    const all: Contender[] = [
      ...ourSingleContenders(ctx, sources),
      ...w3.filter((c) => c.family === 'copa'),
      buildahContender('cold', SMALL, ctx),
      buildahContender('warm', SMALL, ctx),
      floorContender('cold', images.small, ctx),
      floorContender('warm', images.small, ctx),
      copaW4BulkContender(ctx, w4),
      copaW4SeparateContender(ctx, w4),
      buildahW4Contender(w4, ctx),
      ...w6Contenders(ctx),
      ...ourBkSingleContenders(ctx, env, sources),
      ...copaGoSingleContenders(ctx, env, sources),
      ...w3.filter((c) => c.family === 'copa-go'),
      copaGoW4Contender(env, ctx, w4),
    ];
    const picked = (c: Contender): boolean =>
      !flags.only || flags.only.some((id) => id === c.id || id === c.workload);
    const unknown = (flags.only ?? []).filter((id) => !all.some((c) => c.id === id || c.workload === id));
    if (unknown.length > 0)
      throw new Error(
        `unknown contender(s) ${unknown.join(', ')}; known: ${all.map((c) => c.id).join(', ')}`,
      );
    let contenders = all.filter(picked);
    const skipped: ContenderResult[] = [];
    const aside = (family: ContenderResult['family'], reason: string): void => {
      const { kept, rows } = setAside(contenders, family, reason);
      contenders = kept;
      skipped.push(...rows);
    };
    if (missing.some((t) => t.command === 'buildah')) aside('buildah', 'n/a (buildah not installed)');
    if (typeof peer === 'string') {
      aside('copa-go', peer);
      if (skipped.some((r) => r.family === 'copa-go')) log(`original Copa rows: ${peer}`);
    }
    if (typeof daemon === 'string') {
      aside('copa-bk', daemon);
      if (skipped.some((r) => r.family === 'copa-bk')) log(`our BuildKit-engine rows: ${daemon}`);
    }

    const results = await executeRounds(contenders, {
      rounds: flags.rounds,
      profile: flags.profile,
      log,
      aborted: () => aborted,
    });
    const facts = (name: 'small' | 'big', reference: string): ImageFacts => ({
      reference,
      layers: images[name].layers,
      compressed: images[name].size.compressed,
      uncompressed: images[name].size.uncompressed,
    });
    const run = finishRun({
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      rounds: flags.rounds,
      machine: describeMachine(loadBefore),
      cli: { path: cli.path, commit: cli.commit },
      images: {
        small: facts('small', pushed.small.reference),
        big: facts('big', pushed.big.reference),
        upgradable,
        ...(w3plan ? { distroless: { upgradable: w3plan.updates } } : {}),
      },
      results: [...results, ...skipped],
    });
    run.targets.push(...w6Targets(run.results));
    const jsonPath = await writeResults(RESULTS, run);
    log(`results written to ${jsonPath}`);
    await publish(run, jsonPath);
  } finally {
    await copaGo?.stop();
    await proxy.close();
    await registry.stop();
    await removeTree(workDir);
  }
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
