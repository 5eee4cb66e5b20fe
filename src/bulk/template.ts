import { CopaError } from '../errors.js';

/**
 * Target tag templates of bulk mode. Copa renders them with Go's text/template and a value that has one
 * field, SourceTag; this supports exactly that subset: literal text and `{{ .SourceTag }}` actions (any
 * inner spaces, Go's `{{- ` / ` -}}` whitespace trimming). Anything else is rejected up front.
 */
export const DEFAULT_TAG_TEMPLATE = '{{ .SourceTag }}-patched';

/** docker's tag grammar (distribution/reference). */
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Go's text/template trim markers: `{{-` and `-}}` count only when followed/preceded by ASCII space. */
const TRIM_SPACE = /[ \t\r\n]/;
/** The sample source tag used to check that a template's literal parts can form a valid tag. */
const SAMPLE_SOURCE_TAG = '1.0';

type Part = { text: string } | { sourceTag: true };

function quote(s: string): string {
  return JSON.stringify(s);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Parse into parts, or return why the template is not supported. */
function parse(template: string): Part[] | string {
  const parts: Part[] = [];
  let rest = template;
  let trimNext = false;
  while (rest !== '') {
    const open = rest.indexOf('{{');
    let text = open === -1 ? rest : rest.slice(0, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (text.includes('}}')) return 'unbalanced braces: "}}" without "{{"';
    if (open === -1) {
      if (text !== '') parts.push({ text });
      break;
    }
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) return 'unclosed action: "{{" without "}}"';
    let inner = rest.slice(open + 2, close);
    const action = rest.slice(open, close + 2);
    if (inner.startsWith('-') && TRIM_SPACE.test(inner.charAt(1))) {
      text = text.replace(/[ \t\r\n]+$/, '');
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith('-') && TRIM_SPACE.test(inner.charAt(inner.length - 2));
    if (trimNext) inner = inner.slice(0, -1);
    if (text !== '') parts.push({ text });
    if (inner.trim() !== '.SourceTag') {
      return `unsupported action ${quote(action)} (only {{ .SourceTag }} is available)`;
    }
    parts.push({ sourceTag: true });
    rest = rest.slice(close + 2);
  }
  return parts;
}

function render(parts: Part[], sourceTag: string): string {
  return parts.map((p) => ('text' in p ? p.text : sourceTag)).join('');
}

/**
 * Why `template` cannot be used as a target tag template, or undefined when it can. Checks the syntax
 * and that rendering it for a plain source tag gives a valid docker tag (catches `/`, `:` and the like).
 */
export function templateProblem(template: string): string | undefined {
  const parts = parse(template);
  if (typeof parts === 'string') return parts;
  const sample = render(parts, SAMPLE_SOURCE_TAG);
  if (!isValidTag(sample)) {
    return `renders ${quote(sample)} for source tag ${quote(SAMPLE_SOURCE_TAG)}, which is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`;
  }
  return undefined;
}

const HINT = 'a target tag template is text plus {{ .SourceTag }}, e.g. "{{ .SourceTag }}-patched"';

/** Throw CopaError USAGE when `template` is not a usable target tag template. */
export function validateTemplate(template: string): void {
  const problem = templateProblem(template);
  if (problem !== undefined) {
    throw new CopaError('USAGE', `tag template ${quote(template)}: ${problem}`, { hint: HINT });
  }
}

/** Render `template` for `sourceTag`; the result is always a valid docker tag (else CopaError USAGE). */
export function renderTag(template: string, sourceTag: string): string {
  const parts = parse(template);
  if (typeof parts === 'string') {
    throw new CopaError('USAGE', `tag template ${quote(template)}: ${parts}`, { hint: HINT });
  }
  const tag = render(parts, sourceTag);
  if (!isValidTag(tag)) {
    throw new CopaError(
      'USAGE',
      `tag template ${quote(template)} renders ${quote(tag)} for source tag ${quote(sourceTag)}, which is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
      { hint: 'shorten the template or change its literal text so the result is a valid tag' },
    );
  }
  return tag;
}
