/**
 * The real dpkg's and rpm's version orderings for a batch of pairs, one process per batch. Each answer is
 * -1, 0 or 1; NaN where dpkg refused the pair (exit code 2).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type VersionPair = [string, string];

const lines = (pairs: VersionPair[]): string => pairs.map(([a, b]) => `${a}\t${b}\n`).join('');

function checked(out: string[], pairs: VersionPair[], tool: string): number[] {
  if (out.length !== pairs.length) throw new Error(`${tool} answered ${out.length} of ${pairs.length} pairs`);
  return out.map((l) => (l === 'error' ? NaN : Number(l)));
}

/** `dpkg --compare-versions` ("lt" first, "eq" only when needed) in one shell for the whole batch */
export function dpkgOrder(pairs: VersionPair[]): number[] {
  const script = [
    'tab=$(printf "\\t")',
    'while IFS="$tab" read -r a b; do',
    '  dpkg --compare-versions "$a" lt "$b" 2>/dev/null; lt=$?',
    '  if [ $lt = 0 ]; then echo -1; continue; fi',
    '  dpkg --compare-versions "$a" eq "$b" 2>/dev/null; eq=$?',
    '  if [ $lt = 2 ] || [ $eq = 2 ]; then echo error; elif [ $eq = 0 ]; then echo 0; else echo 1; fi',
    'done',
  ].join('\n');
  const out = execFileSync('sh', ['-c', script], { input: lines(pairs), encoding: 'utf8' });
  return checked(out.trim().split('\n'), pairs, 'dpkg');
}

/** `rpm.vercmp` in one Lua run of the real rpm for the whole batch */
export function rpmOrder(pairs: VersionPair[]): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'copa-rpmvercmp-'));
  try {
    const file = join(dir, 'pairs');
    writeFileSync(file, lines(pairs));
    const lua = [
      '%{lua: local out = {}',
      `for l in io.lines("${file}") do local a, b = l:match("^(.-)\\t(.*)$"); out[#out + 1] = rpm.vercmp(a, b) end`,
      'print(table.concat(out, " "))}',
    ].join('\n');
    return checked(
      execFileSync('rpm', ['--eval', lua], { encoding: 'utf8' }).trim().split(' '),
      pairs,
      'rpm',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** pacman's `vercmp` (Debian's makepkg package) for each pair, in one shell for the whole batch */
export function pacmanOrder(pairs: VersionPair[]): number[] {
  const script = [
    'tab=$(printf "\\t")',
    'while IFS="$tab" read -r a b; do vercmp "$a" "$b" || echo error; done',
  ].join('\n');
  const out = execFileSync('sh', ['-c', script], { input: lines(pairs), encoding: 'utf8' });
  return checked(out.trim().split('\n'), pairs, 'vercmp').map((n) => (Number.isNaN(n) ? n : Math.sign(n)));
}
