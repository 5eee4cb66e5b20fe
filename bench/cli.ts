import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../test/helpers/build.js';
import { run } from '../test/helpers/exec.js';

/** Which CLI the bench measures: the working tree's dist/, a given main.js, or a clean build of a git ref. */

export interface BenchCli {
  /** path of main.js */
  path: string;
  /** what was built: a commit, or a note */
  commit: string;
  cleanup(): Promise<void>;
}

function git(repo: string, args: string[]): string {
  return spawnSync('git', args, { cwd: repo, encoding: 'utf8' }).stdout.trim();
}

/** The working tree: build dist/ and use dist/cli/main.js. */
export function workingTreeCli(repo: string, log: (m: string) => void): BenchCli {
  log('building dist/ (tsc -p tsconfig.build.json, then the bundled CLI)');
  buildCli(repo, log);
  const dirty = git(repo, ['status', '--porcelain', '--', 'src']);
  return {
    path: join(repo, 'dist/cli/main.js'),
    commit: `${git(repo, ['rev-parse', '--short', 'HEAD']) || 'unknown'}${dirty ? ' + uncommitted src changes' : ''}`,
    cleanup: () => Promise.resolve(),
  };
}

/** A clean build of `ref` (git archive into a temp dir, the repo's node_modules linked in). */
export async function cliAtRef(repo: string, ref: string, log: (m: string) => void): Promise<BenchCli> {
  const commit = git(repo, ['rev-parse', '--short', '--verify', `${ref}^{commit}`]);
  if (!commit) throw new Error(`not a git commit: ${ref}`);
  const dir = await mkdtemp(join(tmpdir(), `copa-bench-cli-${commit}-`));
  try {
    log(`building the CLI at ${ref} (${commit}) in ${dir}`);
    await run('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repo, commit, dir]);
    await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'));
    buildCli(dir, log);
    const path = join(dir, 'dist/cli/main.js');
    if (!existsSync(path)) throw new Error(`the build at ${ref} has no dist/cli/main.js`);
    return { path, commit, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

export function givenCli(path: string): BenchCli {
  if (!existsSync(path)) throw new Error(`no CLI at ${path}`);
  return { path, commit: `given with --cli`, cleanup: () => Promise.resolve() };
}
