import { Command, Option } from 'commander';
import { CopaError } from '../errors.js';
import { generate } from '../generate/generate.js';
import { parseDuration } from './duration.js';
import { withInterrupts } from './interrupt.js';
import { cliLogger, parseProgress } from './logger.js';

interface GenerateFlags {
  image: string;
  report?: string;
  tag?: string;
  tagSuffix: string;
  workingFolder?: string;
  timeout: string;
  scanner: string;
  ignoreErrors: boolean;
  format: string;
  output?: string;
  platform?: string;
  loader?: string;
  outputContext?: string;
  progress: string;
  insecureRegistry: string[];
  cacheDir?: string;
}

const EXAMPLES = `
Examples:
  # a build context with the patched files, built by docker (no BuildKit needed)
  sudo copa generate -i 127.0.0.1:5000/debian:12 -r report.json --output-context ctx.tar
  docker build -t 127.0.0.1:5000/debian:12-patched - < ctx.tar

  # straight into docker build
  sudo copa generate -i 127.0.0.1:5000/debian:12 | docker build -t debian:12-patched -
`;

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

/** Where the tar goes: --output-context FILE, else stdout, which must not be a terminal. */
export function contextOutput(
  outputContext: string | undefined,
  stdoutIsTTY: boolean,
): { path: string } | { stdout: true } {
  if (outputContext) return { path: outputContext };
  if (stdoutIsTTY) {
    throw new CopaError('USAGE', 'refusing to write the build context (a tar archive) to a terminal', {
      hint: 'redirect stdout (copa generate … > context.tar, or | docker build -) or use --output-context FILE',
    });
  }
  return { stdout: true };
}

export function generateCommand(globals: () => { debug: boolean }): Command {
  return new Command('generate')
    .description(
      'Write a Docker build context (Dockerfile + patched files) that patches the image with `docker build -`',
    )
    .requiredOption('-i, --image <ref>', 'image reference to patch')
    .option(
      '-r, --report <file>',
      'vulnerability report file (Trivy or Grype JSON, or --scanner native / plugin format)',
    )
    .option('-t, --tag <tag>', 'tag for the patched image (a plain tag)')
    .option('--tag-suffix <suffix>', 'suffix of the patched tag when --tag is not given', 'patched')
    .option('-w, --working-folder <dir>', 'scratch directory (default: under the copa cache)')
    .option('--timeout <duration>', 'deadline for the whole run (e.g. 5m, 90s)', '5m')
    .option(
      '-s, --scanner <name>',
      'report format: trivy (also detects Grype), grype, native, or a copa-<name> plugin on PATH',
      'trivy',
    )
    .option('--ignore-errors', 'keep going past package update and validation failures', false)
    .option('-f, --format <format>', 'VEX document format (only openvex)', 'openvex')
    .option(
      '-o, --output <file>',
      'write a VEX document of the fixed vulnerabilities to this file (needs a report)',
    )
    .option(
      '--platform <platform>',
      'platform to patch, e.g. linux/arm64 (default: the host’s; build with the same --platform)',
    )
    .addOption(
      new Option('-l, --loader <name>', 'accepted for Copa compatibility; generate loads nothing').choices([
        'docker',
        'podman',
      ]),
    )
    .option('--output-context <file>', 'write the build context tar to this file (default: stdout)')
    .addOption(new Option('--progress <mode>', 'progress output: auto, plain, tty, quiet').default('auto'))
    .option(
      '--insecure-registry <host>',
      'use plain HTTP for this registry (repeatable; loopback is always plain HTTP)',
      collect,
      [],
    )
    .option('--cache-dir <dir>', 'layer and package cache (default: $XDG_CACHE_HOME/copa or ~/.cache/copa)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: GenerateFlags) => {
      const { debug } = globals();
      const early = cliLogger('plain', debug);
      const logger = cliLogger(
        parseProgress(flags.progress, (m) => early.warn(m)),
        debug,
      );
      const where = contextOutput(flags.outputContext, process.stdout.isTTY === true);
      await withInterrupts(logger, async (signal) => {
        const result = await generate({
          image: flags.image,
          report: flags.report,
          tag: flags.tag,
          tagSuffix: flags.tagSuffix,
          scanner: flags.scanner,
          ignoreErrors: flags.ignoreErrors,
          timeoutMs: parseDuration(flags.timeout),
          workingFolder: flags.workingFolder,
          debug,
          insecureRegistries: flags.insecureRegistry,
          cacheDir: flags.cacheDir,
          platforms: flags.platform ? [flags.platform] : [],
          vexFormat: flags.format,
          vexOutput: flags.output,
          output: 'path' in where ? { path: where.path } : { stream: () => process.stdout },
          logger,
          signal,
          ...(debug
            ? { onOutput: (_s: 'stdout' | 'stderr', d: string) => void process.stderr.write(d) }
            : {}),
        });
        if (result.status === 'Up-to-date') {
          logger.warn('Image is already up-to-date. No patch was applied.');
          return;
        }
        logger.info(
          `Patch summary: ${result.plan?.updates.length ?? 0} package(s) updated; build it with: docker build -t <name> - < ${result.output.location === '-' ? '<context tar>' : result.output.location}`,
        );
      });
    });
}
