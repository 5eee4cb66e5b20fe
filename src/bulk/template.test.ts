import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { DEFAULT_TAG_TEMPLATE, renderTag, templateProblem, validateTemplate } from './template.js';

function usageError(fn: () => unknown): CopaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('USAGE');
    return err as CopaError;
  }
  throw new Error('expected a CopaError');
}

describe('renderTag', () => {
  it.each([
    [DEFAULT_TAG_TEMPLATE, '1.25.3', '1.25.3-patched'],
    ['{{ .SourceTag }}-patched', '3.19', '3.19-patched'],
    ['{{.SourceTag}}-fixed', '1.2', '1.2-fixed'],
    ['{{   .SourceTag\t}}', 'v8.2.1', 'v8.2.1'],
    ['{{\n.SourceTag\n}}-x', 'a', 'a-x'],
    ['patched-{{ .SourceTag }}', '22.04', 'patched-22.04'],
    ['{{ .SourceTag }}-{{ .SourceTag }}', 'x', 'x-x'],
    ['fixed', '1.0', 'fixed'],
    ['{{- .SourceTag -}}', '1.0', '1.0'],
    ['{{ .SourceTag }}_p.1', 'latest', 'latest_p.1'],
  ])('%j with %j -> %j', (template, source, expected) => {
    expect(renderTag(template, source)).toBe(expected);
  });

  it('the default template is Copa’s', () => {
    expect(DEFAULT_TAG_TEMPLATE).toBe('{{ .SourceTag }}-patched');
  });

  it.each([
    ['{{ .Foo }}', 'unsupported action "{{ .Foo }}"'],
    ['{{ .sourcetag }}', 'unsupported action'],
    ['{{ .SourceTag | printf "%s" }}', 'unsupported action'],
    ['{{ }}', 'unsupported action'],
    ['{{/* c */}}', 'unsupported action'],
    ['{{-.SourceTag}}', 'unsupported action'],
    ['{{ .SourceTag }', 'unclosed action'],
    ['{{ .SourceTag', 'unclosed action'],
    ['x }} {{ .SourceTag }}', 'unbalanced braces'],
  ])('rejects the template %j', (template, fragment) => {
    const err = usageError(() => renderTag(template, '1.0'));
    expect(err.message).toContain(JSON.stringify(template));
    expect(err.message).toContain(fragment);
    expect(err.hint).toBeTruthy();
  });

  it.each([
    ['{{ .SourceTag }}/x', '1.0'],
    ['{{ .SourceTag }}:x', '1.0'],
    ['-{{ .SourceTag }}', '1.0'],
    ['{{ .SourceTag }}-patched', 'a'.repeat(125)],
    ['{{ .SourceTag }} x', '1.0'],
    ['', '1.0'],
  ])('rejects %j for source %j when the result is not a tag', (template, source) => {
    const err = usageError(() => renderTag(template, source));
    expect(err.message).toContain(JSON.stringify(template));
    expect(err.message).toContain(JSON.stringify(source));
    expect(err.message).toContain('not a valid tag');
  });

  it('accepts a result of exactly 128 characters', () => {
    expect(renderTag('{{ .SourceTag }}-patched', 'a'.repeat(120))).toHaveLength(128);
  });
});

describe('validateTemplate', () => {
  it.each([DEFAULT_TAG_TEMPLATE, '{{.SourceTag}}', 'v{{ .SourceTag }}-fixed', 'static'])(
    'accepts %j',
    (t) => {
      expect(() => validateTemplate(t)).not.toThrow();
      expect(templateProblem(t)).toBeUndefined();
    },
  );

  it.each(['{{ .Foo }}', '{{ .SourceTag', '{{ .SourceTag }}/x', '', '.{{ .SourceTag }}'])(
    'rejects %j',
    (t) => {
      usageError(() => validateTemplate(t));
      expect(templateProblem(t)).toMatch(/\S/);
    },
  );

  it('is one line', () => {
    const err = usageError(() => validateTemplate('{{ .Foo\n}}\n'));
    expect(err.message).not.toContain('\n');
  });
});
