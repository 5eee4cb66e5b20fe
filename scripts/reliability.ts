/**
 * Prints the README's reliability tables from the recorded test results (test/reporter/results.ts):
 * `npm run reliability` prints them, `npm run reliability -- --write` replaces them in README.md between
 * the `<!-- reliability:start -->` and `<!-- reliability:end -->` markers. Run `npm test` (or the files
 * of one area) first; an area whose tests were never run says so.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readResults, resultsFile, type TestOutcome } from '../test/reporter/results.js';

interface Area {
  name: string;
  /** test files (paths relative to the repository root) */
  files: RegExp;
}

const AREAS: Area[] = [
  {
    name: 'hostile layers (tar), both extraction modes',
    files: /^test\/integration\/layers-hostile\.test\.ts$/,
  },
  {
    name: 'hostile manifests, configs, reports, PatchConfig files',
    files: /^test\/e2e\/hostile-inputs\.test\.ts$/,
  },
  { name: 'images that attack the package-manager run', files: /^test\/e2e\/hostile-image\.test\.ts$/ },
  {
    name: 'registry faults (fault proxy on loopback)',
    files: /^test\/(integration|e2e)\/registry-faults[\w-]*\.test\.ts$/,
  },
  {
    name: 'stages interrupted (signals, kill -9)',
    files: /^test\/e2e\/(signals|interrupt)[\w-]*\.test\.ts$/,
  },
  { name: 'soak runs', files: /^test\/e2e\/soak[\w-]*\.test\.ts$/ },
  { name: 'full disks (cache and work dir on small tmpfs)', files: /^test\/e2e\/full-disk\.test\.ts$/ },
  { name: 'rootless native engine', files: /^test\/e2e\/rootless\.test\.ts$/ },
  { name: 'the sandbox, from inside', files: /^test\/integration\/sandbox\.test\.ts$/ },
  { name: 'credentials never printed', files: /^test\/e2e\/credentials-redaction\.test\.ts$/ },
  { name: 'property tests (fast-check, fixed seed)', files: /\.property\.test\.ts$/ },
];

const START = '<!-- reliability:start -->';
const END = '<!-- reliability:end -->';

/** the test's own title (the last part of its full name), pipes escaped for a table cell */
function title(t: TestOutcome): string {
  const parts = t.name.split(' > ');
  return (parts.at(-1) ?? t.name).replace(/^'(.*)'$/, '$1').replace(/\|/g, '\\|');
}

export function tables(results: TestOutcome[]): string {
  const lines = ['| area | cases | passed | failed | not run |', '| --- | ---: | ---: | ---: | ---: |'];
  const detail: string[] = ['| area | case (the outcome it checks) | result |', '| --- | --- | --- |'];
  for (const area of AREAS) {
    const tests = results.filter((t) => area.files.test(t.file));
    const count = (s: TestOutcome['state']) => tests.filter((t) => t.state === s).length;
    const notRun = tests.length - count('passed') - count('failed');
    lines.push(
      tests.length === 0
        ? `| ${area.name} | — | — | — | no results recorded |`
        : `| ${area.name} | ${tests.length} | ${count('passed')} | ${count('failed')} | ${notRun} |`,
    );
    for (const t of tests) detail.push(`| ${area.name} | ${title(t)} | ${t.state} |`);
  }
  const when =
    results
      .map((t) => t.at ?? '')
      .sort()
      .at(-1) ?? '';
  return [
    ...lines,
    '',
    `<details><summary>Every case and its outcome (results recorded up to ${when.slice(0, 16) || 'never'})</summary>`,
    '',
    ...detail,
    '',
    '</details>',
  ].join('\n');
}

function main(argv: string[]): void {
  const results = readResults();
  if (results.length === 0) {
    process.stderr.write(`no test results in ${resultsFile()}: run \`npm test\` first\n`);
    process.exitCode = 1;
    return;
  }
  const text = tables(results);
  if (!argv.includes('--write')) {
    process.stdout.write(text + '\n');
    return;
  }
  const readme = readFileSync('README.md', 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) {
    process.stderr.write(`README.md has no ${START} … ${END} markers\n`);
    process.exitCode = 1;
    return;
  }
  const next = `${readme.slice(0, a + START.length)}\n${text}\n${readme.slice(b)}`;
  writeFileSync('README.md.tmp', next);
  renameSync('README.md.tmp', 'README.md');
  process.stdout.write('README.md: reliability tables updated\n');
}

main(process.argv.slice(2));
