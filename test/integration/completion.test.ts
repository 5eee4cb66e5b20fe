/**
 * `copa completion bash|zsh|fish` through the CLI: bash parses the script and completes sub-commands,
 * flags and flag choices from it; the fish script names every flag.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';

function complete(script: string, words: string[]): string[] {
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _copa; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('copa completion', () => {
  it('bash: sub-commands, flags and choices', async () => {
    const r = await copa(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: r.stdout }).status).toBe(0);
    expect(complete(r.stdout, ['copa', 'pa'])).toEqual(['patch']);
    expect(complete(r.stdout, ['copa', 'patch', '--tim'])).toEqual(['--timeout', '--timings']);
    expect(complete(r.stdout, ['copa', 'patch', '--loader', ''])).toEqual(['docker', 'podman']);
    expect(complete(r.stdout, ['copa', 'cache', 'prune', '--k'])).toEqual(['--keep-storage']);
    expect(complete(r.stdout, ['copa', 'plan', 'me'])).toEqual(['merge']);
  });

  it('zsh and fish scripts cover the same flags; an unknown shell is a usage error', async () => {
    const zsh = await copa(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef copa/);
    expect(zsh.stdout).toContain('bashcompinit');
    const fish = await copa(['completion', 'fish']);
    expect(fish.stdout).toContain("complete -c copa -n '__fish_seen_subcommand_from patch' -l timings");
    expect(fish.stdout).toContain("-l loader -s l -x -a 'docker podman'");
    const bad = await copa(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no completion for shell "tcsh"');
  });
});
