import { Command } from 'commander';
import { CopaError } from '../errors.js';
import { withInterrupts } from './interrupt.js';
import { cliLogger, parseProgress } from './logger.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

/** `copa plan --config FILE -o plan.json` and `copa plan merge RESULTS…` (bulk mode over shards). */
export function planCommand(globals: () => { debug: boolean }): Command {
  const merge = new Command('merge')
    .description('Merge the --results files of the shards of a plan: one summary, one exit code')
    .argument('<results...>', 'results files (JSON lines) written by copa patch --plan … --results FILE')
    .option('--plan <file>', 'the plan: jobs without a result count as failed (their shard did not finish)')
    .option('--ignore-errors', 'exit 0 even when jobs failed', false)
    .option('--json', 'print the summary as JSON on stdout', false)
    .action(async (files: string[], o: { plan?: string; ignoreErrors: boolean; json: boolean }) => {
      const { mergeBulkResults } = await import('./bulk.js');
      await mergeBulkResults(files, o);
    });
  return new Command('plan')
    .description(
      'Plan a bulk run once (tag discovery, sources pinned to digests, target tags, skips) for shards to run',
    )
    .option('--config <file>', 'PatchConfig (copa.sh/v1alpha1) file (required)')
    .option('-o, --output <file>', 'write the plan here (default: print it on stdout)')
    .option('-r, --report <dir>', 'reports of already patched images: skip tags with nothing fixable')
    .option('-s, --scanner <name>', 'format of the reports in -r', 'trivy')
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .option('--progress <mode>', 'progress output: auto, plain, tty, quiet', 'auto')
    .action(
      async (o: {
        config?: string;
        output?: string;
        report?: string;
        scanner: string;
        insecureRegistry: string[];
        progress: string;
      }) => {
        const { debug } = globals();
        const logger = cliLogger(
          parseProgress(o.progress, (m) => process.stderr.write(`warning: ${m}\n`)),
          debug,
        );
        if (o.config === undefined) {
          throw new CopaError('USAGE', 'copa plan needs --config FILE', {
            hint: 'copa plan --config bulk.yaml -o plan.json; or copa plan merge RESULTS… to merge shard results',
          });
        }
        const { writeBulkPlan } = await import('./bulk.js');
        const config = o.config;
        // Ctrl-C stops the tag discovery in flight (registry requests included): exit 130, no plan written
        await withInterrupts(logger, (signal) => writeBulkPlan({ ...o, config }, logger, signal));
      },
    )
    .addCommand(merge.exitOverride());
}
