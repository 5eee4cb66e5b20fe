/**
 * `copa completion bash|zsh|fish`: a completion script made from the command definitions themselves
 * (sub-commands, their flags, the choices of flags that have them), so it never falls behind them.
 */
import { Command } from 'commander';
import { CopaError } from '../errors.js';

interface Spec {
  path: string[];
  flags: { long?: string; short?: string; takesValue: boolean; choices: string[]; description: string }[];
  subcommands: string[];
}

function specs(cmd: Command, path: string[] = []): Spec[] {
  const flags = cmd.options.map((o) => ({
    ...(o.long ? { long: o.long } : {}),
    ...(o.short ? { short: o.short } : {}),
    takesValue: o.required || o.optional,
    choices: o.argChoices ?? [],
    description: o.description,
  }));
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  return [
    { path, flags, subcommands: subs.map((c) => c.name()) },
    ...subs.flatMap((c) => specs(c, [...path, c.name()])),
  ];
}

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

function bash(all: Spec[]): string {
  const cases = all
    .map((s) => {
      const words = [...s.subcommands, ...s.flags.flatMap((f) => [f.long, f.short].filter(Boolean))].join(
        ' ',
      );
      const choices = s.flags
        .filter((f) => f.choices.length > 0)
        .map(
          (f) =>
            `      ${[f.long, f.short].filter(Boolean).join('|')}) COMPREPLY=($(compgen -W ${q(f.choices.join(' '))} -- "$cur")); return ;;`,
        )
        .join('\n');
      const files = s.flags
        .filter((f) => f.takesValue && f.choices.length === 0)
        .flatMap((f) => [f.long, f.short].filter(Boolean))
        .join('|');
      return [
        `    ${q(s.path.join(' '))})`,
        `      case "$prev" in`,
        choices,
        files ? `      ${files}) COMPREPLY=($(compgen -f -- "$cur")); return ;;` : '',
        `      esac`,
        `      COMPREPLY=($(compgen -W ${q(words)} -- "$cur")) ;;`,
      ]
        .filter((l) => l !== '')
        .join('\n');
    })
    .join('\n');
  return `# bash completion for copa (source it, or save it as /etc/bash_completion.d/copa)
_copa() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) ;; *) case " $(_copa_subs "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac ;; esac
  done
  case "$path" in
${cases}
  esac
}
_copa_subs() {
  case "$1" in
${all.map((s) => `    ${q(s.path.join(' '))}) echo ${q(s.subcommands.join(' '))} ;;`).join('\n')}
  esac
}
complete -o default -F _copa copa
`;
}

function zsh(all: Spec[]): string {
  return `#compdef copa
# zsh completion for copa (save it as _copa in a directory of $fpath)
${bash(all)
  .split('\n')
  .filter((l) => !l.startsWith('#'))
  .join('\n')}`.replace(
    'complete -o default -F _copa copa',
    'autoload -U +X bashcompinit && bashcompinit\ncomplete -o default -F _copa copa',
  );
}

function fish(all: Spec[]): string {
  const lines = [
    '# fish completion for copa (save it as ~/.config/fish/completions/copa.fish)',
    'complete -c copa -f',
  ];
  for (const s of all) {
    const cond =
      s.path.length === 0 ? `__fish_use_subcommand` : `__fish_seen_subcommand_from ${s.path.at(-1)}`;
    for (const sub of s.subcommands) lines.push(`complete -c copa -n ${q(cond)} -a ${q(sub)}`);
    for (const f of s.flags) {
      const parts = [`complete -c copa -n ${q(cond)}`];
      if (f.long) parts.push(`-l ${f.long.replace(/^--/, '')}`);
      if (f.short) parts.push(`-s ${f.short.replace(/^-/, '')}`);
      if (f.choices.length > 0) parts.push(`-x -a ${q(f.choices.join(' '))}`);
      else if (f.takesValue) parts.push('-r -F');
      parts.push(`-d ${q(f.description.slice(0, 80))}`);
      lines.push(parts.join(' '));
    }
  }
  return lines.join('\n') + '\n';
}

export function completionScript(program: Command, shell: string): string {
  const all = specs(program);
  if (shell === 'bash') return bash(all);
  if (shell === 'zsh') return zsh(all);
  if (shell === 'fish') return fish(all);
  throw new CopaError('USAGE', `no completion for shell ${JSON.stringify(shell)}`, {
    hint: 'use bash, zsh or fish',
  });
}

export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('print a shell completion script: copa completion bash|zsh|fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      '\nExamples:\n  source <(copa completion bash)\n  copa completion fish > ~/.config/fish/completions/copa.fish\n',
    )
    .action((shell: string) => {
      process.stdout.write(completionScript(program(), shell));
    });
}
