import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { JobDefaults } from '../bulk/job.js';
import { CopaError } from '../errors.js';
import { patch } from '../patch/patch.js';
import type { PatchResult } from '../patch/result.js';
import { parseDuration } from './duration.js';
import { addLibraryOptions, libraryOptions, type LibraryFlags } from './library-flags.js';
import { addSbomOptions, noSbomInBulk, sbomOptions, type SbomFlags } from './sbom-flags.js';
import { withInterrupts } from './interrupt.js';
import { cliLogger, parseProgress } from './logger.js';
import { createDisplay } from './progress.js';
import { printResult, printTimings } from './patch-output.js';

interface PatchFlags extends LibraryFlags, SbomFlags {
  image?: string;
  report?: string;
  tag?: string;
  tagSuffix: string;
  scanner: string;
  ignoreErrors: boolean;
  timeout: string;
  workingFolder?: string;
  push: boolean;
  ociDir?: string;
  progress: string;
  insecureRegistry: string[];
  dryRun: boolean;
  json: boolean;
  timings?: boolean;
  platform?: string[];
  cacheDir?: string;
  loader?: string;
  compression: string;
  forceCompression: boolean;
  format: string;
  output?: string;
  eolApiUrl?: string;
  exitOnEol: boolean;
  toolingImage?: string;
  config?: string;
  plan?: string;
  shard?: string;
  shards?: string;
  results?: string;
  jobs?: string;
  addr?: string;
  engine?: string;
  cacert?: string;
  cert?: string;
  key?: string;
}

const EXAMPLES = `
Examples:
  # patch the packages a Trivy report names, push <tag>-patched next to the original
  trivy image --vuln-type os --ignore-unfixed -f json -o report.json 127.0.0.1:5000/debian:12
  sudo copa patch -i 127.0.0.1:5000/debian:12 -r report.json --push

  # update every package, write an OCI layout instead of pushing
  sudo copa patch -i 127.0.0.1:5000/debian:12 --oci-dir ./out -t 12-fixed

  # show what would change, write nothing
  sudo copa patch -i 127.0.0.1:5000/debian:12 -r report.json --dry-run

  # bulk: every image and tag of a PatchConfig file, 4 at a time
  sudo copa patch --config bulk.yaml --push --jobs 4

  # bulk over several machines: plan once, run shard 2 of 3, merge the results
  copa plan --config bulk.yaml -o plan.json
  sudo copa patch --plan plan.json --shard 2/3 --push --results shard-2.jsonl
  copa plan merge shard-*.jsonl --plan plan.json
`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

export function patchCommand(globals: () => { debug: boolean }): Command {
  const cmd = new Command('patch')
    .description('Patch a container image: update vulnerable OS packages and append one layer')
    .option('-i, --image <ref>', 'image reference to patch')
    .option(
      '-r, --report <file>',
      'vulnerability report file (Trivy or Grype JSON, or --scanner native / plugin format)',
    )
    .option('-t, --tag <tag>', 'tag for the patched image, or a full reference registry/repo:tag')
    .option('--tag-suffix <suffix>', 'suffix of the patched tag when --tag is not given', 'patched')
    .option(
      '-s, --scanner <name>',
      'report format: trivy (also detects Grype), grype, native, or a copa-<name> plugin on PATH',
      'trivy',
    )
    .option('--ignore-errors', 'keep going past package update and validation failures', false)
    .option('--timeout <duration>', 'deadline for the whole run (e.g. 5m, 90s)', '5m')
    .option('-w, --working-folder <dir>', 'scratch directory (default: under the copa cache)')
    .option('-p, --push', 'push the patched image to the registry', false)
    .option('--oci-dir <dir>', 'write the patched image into this OCI layout directory')
    .option(
      '--platform <platforms>',
      'platform to patch, e.g. linux/arm64 (default: the report’s, else the host’s)',
      collect,
    )
    .addOption(new Option('--progress <mode>', 'progress output: auto, plain, tty, quiet').default('auto'))
    .option(
      '--insecure-registry <host>',
      'use plain HTTP for this registry (repeatable; loopback is always plain HTTP)',
      collect,
      [],
    )
    .option('--dry-run', 'print the plan (packages, from -> to, target tag) and write nothing', false)
    .option('--json', 'print a machine-readable result on stdout', false)
    .option('--timings', 'print where the time went (a table of phases) at the end; --debug does too', false)
    .option('--cache-dir <dir>', 'layer and package cache (default: $XDG_CACHE_HOME/copa or ~/.cache/copa)')
    .addOption(
      new Option(
        '-l, --loader <name>',
        'local image store to load into without --push/--oci-dir: docker or podman (default: whichever is running)',
      ).choices(['docker', 'podman']),
    )
    .addOption(
      new Option('--compression <type>', 'compression of the new layer for local exports')
        .choices(['uncompressed', 'gzip', 'zstd'])
        .default('uncompressed'),
    )
    .option('--force-compression', 'recompress every layer of a local export to --compression', false)
    .option('-f, --format <format>', 'VEX document format (only openvex)', 'openvex')
    .option(
      '-o, --output <file>',
      'write a VEX document of the fixed vulnerabilities to this file (needs a report)',
    )
    .option(
      '--eol-api-url <url>',
      "end-of-life API base URL for update-all mode, '' or off to skip the check (default: $COPA_EOL_API_URL, else endoflife.date)",
    )
    .option('--exit-on-eol', "fail when the image's OS release is end-of-life", false)
    .option(
      '--tooling-image <ref>',
      'image that supplies the package manager for distroless or tool-less images',
    )
    .option(
      '--config <file>',
      'bulk mode: patch every image and tag of this PatchConfig (copa.sh/v1alpha1) file',
    )
    .option('--plan <file>', 'bulk mode: run the jobs of a plan made by `copa plan`')
    .option('--shard <I/N>', 'with --plan: run only the I-th of N shards (1-based)')
    .option(
      '--shards <N>',
      'with --plan: N shards, this one from $JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs)',
    )
    .option('--results <file>', 'bulk mode: append one JSON line per finished job to this file')
    .option('--jobs <n>', 'bulk mode: jobs at a time (default: one per core, at most one per 2 GiB)')
    .option(
      '-a, --addr <addr>',
      'BuildKit address (unix://, tcp://, docker://, docker-container://, buildx://, kubepod://); runs the BuildKit engine',
    )
    .addOption(
      new Option(
        '--engine <name>',
        'native (default; daemonless, root) or buildkit (a BuildKit daemon; --addr, else auto-detected)',
      ).choices(['native', 'buildkit']),
    )
    .option('--cacert <file>', 'CA certificate of a tcp:// BuildKit daemon')
    .option('--cert <file>', 'client certificate for a tcp:// BuildKit daemon')
    .option('--key <file>', 'client key for a tcp:// BuildKit daemon');
  addLibraryOptions(cmd);
  addSbomOptions(cmd);
  return cmd.addHelpText('after', EXAMPLES).action(async (flags: PatchFlags) => {
    const { debug } = globals();
    const early = cliLogger('plain', debug);
    const mode = parseProgress(flags.progress, (m) => early.warn(m));
    if (flags.config !== undefined || flags.plan !== undefined)
      return bulk(flags, debug, cliLogger(mode, debug));
    for (const [flag, value] of [
      ['--shard', flags.shard],
      ['--shards', flags.shards],
      ['--results', flags.results],
      ['--jobs', flags.jobs],
    ] as const) {
      if (value !== undefined) {
        throw new CopaError('USAGE', `${flag} is a bulk-mode flag`, {
          hint: 'use it with --config FILE or --plan FILE',
        });
      }
    }
    const image = flags.image;
    if (!image)
      throw new CopaError('USAGE', 'no image given', { hint: 'pass the image to patch with -i/--image' });
    const started = performance.now();
    const display = createDisplay(mode, debug);
    const logger = display.logger;
    await withInterrupts(logger, async (signal) => {
      let result: PatchResult;
      try {
        result = await patch({
          ...sharedOptions(flags, debug),
          image,
          report: flags.report,
          tag: flags.tag,
          dryRun: flags.dryRun,
          platforms: flags.platform ?? [],
          vexFormat: flags.format,
          vexOutput: flags.output,
          ...sbomOptions(flags),
          logger,
          signal,
          ...(display.progress ? { progress: display.progress } : {}),
          ...(debug
            ? { onOutput: (_s: 'stdout' | 'stderr', d: string) => void process.stderr.write(d) }
            : {}),
        });
      } finally {
        display.close();
      }
      const totalSeconds = (performance.now() - started) / 1000;
      printResult(result, logger, { json: flags.json, quiet: mode === 'quiet', totalSeconds });
      if (flags.timings || debug) printTimings(result, totalSeconds);
    });
  });
}

/** The options of a patch that come straight from flags: a single run and every bulk job share them. */
function sharedOptions(flags: PatchFlags, debug: boolean): JobDefaults {
  return {
    tagSuffix: flags.tagSuffix,
    scanner: flags.scanner,
    ignoreErrors: flags.ignoreErrors,
    timeoutMs: parseDuration(flags.timeout),
    workingFolder: flags.workingFolder,
    debug,
    push: flags.push,
    ociDir: flags.ociDir,
    insecureRegistries: flags.insecureRegistry,
    cacheDir: flags.cacheDir,
    loader: (flags.loader ?? '') as 'docker' | 'podman' | '',
    compression: flags.compression as 'uncompressed' | 'gzip' | 'zstd' | 'estargz',
    forceCompression: flags.forceCompression,
    eolApiUrl: eolApiUrl(flags.eolApiUrl),
    exitOnEol: flags.exitOnEol,
    toolingImage: flags.toolingImage,
    engine: flags.engine as 'native' | 'buildkit' | undefined,
    addr: flags.addr,
    cacert: flags.cacert,
    cert: flags.cert,
    key: flags.key,
    ...libraryOptions(flags),
  };
}

async function bulk(flags: PatchFlags, debug: boolean, logger: ReturnType<typeof cliLogger>): Promise<void> {
  if (flags.config !== undefined && flags.plan !== undefined) {
    throw new CopaError('USAGE', '--config and --plan cannot be used together', {
      hint: 'run the config directly (--config), or a plan made from it (--plan)',
    });
  }
  const mode = flags.config !== undefined ? '--config' : '--plan';
  const conflicting = flags.image !== undefined ? '--image' : flags.tag !== undefined ? '--tag' : undefined;
  if (conflicting) {
    throw new CopaError('USAGE', `${mode} cannot be combined with ${conflicting}`, {
      hint: `the images and tags come from the ${mode === '--config' ? 'config' : 'plan'} file`,
    });
  }
  noSbomInBulk(flags, mode);
  if (flags.report !== undefined) {
    const st = await stat(flags.report).catch(() => undefined);
    if (mode === '--plan' || !st?.isDirectory()) {
      throw new CopaError(
        'USAGE',
        mode === '--plan'
          ? '--plan cannot be combined with --report (skips were decided when the plan was made)'
          : `with --config, -r/--report is a directory of reports of patched images, not a file (${flags.report})`,
        { hint: 'bulk jobs update every package; -r DIR only decides which tags to skip' },
      );
    }
  }
  // bulk mode (and its YAML parser) is loaded only when asked for: a single patch starts faster
  const { runBulk } = await import('./bulk.js');
  await withInterrupts(logger, (signal) => runBulk(flags, sharedOptions(flags, debug), logger, signal));
}

/**
 * The end-of-life API: the flag, else $COPA_EOL_API_URL (unset or empty: not given), else endoflife.date;
 * `--eol-api-url ''` or `off` (flag or variable) turns the check off.
 */
export function eolApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = (flag ?? (env.COPA_EOL_API_URL || DEFAULT_EOL_API)).trim();
  return raw === 'off' ? '' : raw.replace(/\/+$/, '');
}

const DEFAULT_EOL_API = 'https://endoflife.date/api/v1/products';
