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
import { peerPaths } from './buildkit.js';
import { pushW4Images, W4_REPO, W4_TAGS } from './bulk.js';
import type { BenchContext, Contender } from './contender.js';
import { copaContender } from './copa.js';
import { floorContender } from './floor.js';
import { copaGoContender, copaGoEnv, copaGoW4Contender, type CopaGoEnv } from './peer.js';
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
  W3_NOTE,
  writeResults,
  type BenchRun,
  type ImageFacts,
} from './output.js';
import { startCountingProxy } from './proxy.js';
import { executeRounds } from './rounds.js';
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
    const small = 'bench/debian:12';
    const big = 'bench/debian-10x:12';
    const all: Contender[] = [
      copaContender(
        {
          id: 'copa-w1-cold',
          label: `W1 report (${n} pkgs), cold`,
          temperature: 'cold',
          image: 'small',
          workload: 'w1',
          source: small,
          report: smallReport,
        },
        ctx,
      ),
      copaContender(
        {
          id: 'copa-w1-warm',
          label: `W1 report (${n} pkgs), warm`,
          temperature: 'warm',
          image: 'small',
          workload: 'w1',
          source: small,
          report: smallReport,
        },
        ctx,
      ),
      copaContender(
        {
          id: 'copa-w2-warm',
          label: 'W2 update-all, warm',
          temperature: 'warm',
          image: 'small',
          workload: 'w2',
          source: small,
        },
        ctx,
      ),
      copaContender(
        {
          id: 'copa-w1-10x-cold',
          label: 'W1 on the 10x image, cold',
          temperature: 'cold',
          image: '10x',
          workload: 'w1',
          source: big,
          report: bigReport,
        },
        ctx,
      ),
      copaContender(
        {
          id: 'copa-w1-10x-warm',
          label: 'W1 on the 10x image, warm',
          temperature: 'warm',
          image: '10x',
          workload: 'w1',
          source: big,
          report: bigReport,
        },
        ctx,
      ),
      buildahContender('cold', small, ctx),
      buildahContender('warm', small, ctx),
      floorContender('cold', images.small, ctx),
      floorContender('warm', images.small, ctx),
      copaW4BulkContender(ctx, w4),
      copaW4SeparateContender(ctx, w4),
      buildahW4Contender(w4, ctx),
      ...w6Contenders(ctx),
    ];
    // the original Copa: its rows are listed even without its binaries (then they say n/a and why)
    const peer = peerPaths(flags);
    if (typeof peer !== 'string') copaGo = copaGoEnv(peer, ctx, images.fixture);
    // without the binaries the rows are replaced by n/a rows below and never run
    const env: CopaGoEnv = copaGo ?? {
      paths: { copa: '', buildkitd: '', buildctl: '' },
      ready: () => Promise.reject(new Error(typeof peer === 'string' ? peer : 'unavailable')),
      stop: () => Promise.resolve(),
    };
    all.push(
      copaGoContender(
        {
          id: 'copa-go-w1-cold',
          label: `W1 report (${n} pkgs): Copa v0.14.2, cold`,
          temperature: 'cold',
          workload: 'w1',
          source: small,
          report: smallReport,
        },
        env,
        ctx,
      ),
      copaGoContender(
        {
          id: 'copa-go-w1-warm',
          label: `W1 report (${n} pkgs): Copa v0.14.2, warm`,
          temperature: 'warm',
          workload: 'w1',
          source: small,
          report: smallReport,
        },
        env,
        ctx,
      ),
      copaGoContender(
        {
          id: 'copa-go-w2-warm',
          label: 'W2 update-all: Copa v0.14.2, warm',
          temperature: 'warm',
          workload: 'w2',
          source: small,
        },
        env,
        ctx,
      ),
      copaGoW4Contender(env, ctx, w4),
    );
    const picked = (c: Contender): boolean =>
      !flags.only || flags.only.some((id) => id === c.id || id === c.workload);
    const unknown = (flags.only ?? []).filter((id) => !all.some((c) => c.id === id || c.workload === id));
    if (unknown.length > 0)
      throw new Error(
        `unknown contender(s) ${unknown.join(', ')}; known: ${all.map((c) => c.id).join(', ')}`,
      );
    let contenders = all.filter(picked);
    const skipped: ContenderResult[] = [];
    if (missing.some((t) => t.command === 'buildah')) {
      for (const c of contenders.filter((x) => x.family === 'buildah')) {
        skipped.push({
          id: c.id,
          label: c.label,
          family: c.family,
          temperature: c.temperature,
          image: c.image,
          rounds: [],
          unavailable: 'n/a (buildah not installed)',
        });
      }
      contenders = contenders.filter((c) => c.family !== 'buildah');
    }
    if (typeof peer === 'string') {
      for (const c of contenders.filter((x) => x.family === 'copa-go')) {
        skipped.push({
          id: c.id,
          label: c.label,
          family: c.family,
          temperature: c.temperature,
          image: c.image,
          ...(c.workload === undefined ? {} : { workload: c.workload }),
          rounds: [],
          unavailable: peer,
        });
      }
      contenders = contenders.filter((c) => c.family !== 'copa-go');
      if (skipped.some((r) => r.family === 'copa-go')) log(`original Copa rows: ${peer}`);
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
      },
      w3: W3_NOTE,
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
