/** PatchConfig files copa refuses: one line each, naming the file, the field path and what was expected. */
import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { parsePatchConfig } from './config.js';

const HEAD = 'apiVersion: copa.sh/v1alpha1\nkind: PatchConfig\n';

const IMG = (tags: string, extra = ''): string =>
  `${HEAD}images:\n- name: n\n  image: nginx\n  tags: ${tags}\n${extra}`;

describe('parsePatchConfig: invalid files (one line each)', () => {
  it.each([
    ['empty file', '', 'bulk.yaml: (top level): expected a PatchConfig mapping, got an empty document'],
    ['a scalar', 'hello', 'bulk.yaml: (top level): expected a mapping, got "hello"'],
    ['YAML syntax', `${HEAD}images: [\n  - a\n b: c`, 'bulk.yaml: line 4: bad YAML: '],
    [
      'duplicate keys',
      `${HEAD}kind: PatchConfig\nimages: []\n`,
      'bulk.yaml: line 3: bad YAML: Map keys must be unique',
    ],
    ['two documents', `${HEAD}---\n${HEAD}`, 'bad YAML: Source contains multiple documents'],
    ['an undefined alias', `${HEAD}images: *nope\n`, 'bulk.yaml: bad YAML: Unresolved alias'],
    [
      'wrong apiVersion',
      'apiVersion: copa.sh/v1\nkind: PatchConfig\nimages: []\n',
      'bulk.yaml: apiVersion: expected "copa.sh/v1alpha1", got "copa.sh/v1"',
    ],
    [
      'missing apiVersion',
      'kind: PatchConfig\nimages: []\n',
      'bulk.yaml: apiVersion: expected "copa.sh/v1alpha1", got nothing (the field is missing)',
    ],
    [
      'wrong kind',
      'apiVersion: copa.sh/v1alpha1\nkind: patchconfig\nimages: []\n',
      'bulk.yaml: kind: expected "PatchConfig", got "patchconfig"',
    ],
    ['no images', `${HEAD}images: []\n`, 'bulk.yaml: images: expected at least one image, got an empty list'],
    ['missing images', HEAD, 'bulk.yaml: images: expected a list, got nothing (the field is missing)'],
    ['images a mapping', `${HEAD}images: {name: x}\n`, 'bulk.yaml: images: expected a list, got a mapping'],
    [
      'unknown top-level field',
      `${HEAD}image: nginx\nimages: []\n`,
      'bulk.yaml: image: expected one of the fields apiVersion, kind, target, images, got unknown field "image"',
    ],
    [
      'a misspelt maxTags',
      IMG('{strategy: pattern, pattern: x, maxtags: 3}'),
      'bulk.yaml: images[0].tags.maxtags: expected one of the fields strategy, list, pattern, maxTags, exclude, got unknown field "maxtags" (did you mean maxTags?)',
    ],
    [
      'a misspelt image field',
      `${HEAD}images:\n- name: n\n  image: nginx\n  tags: {strategy: latest}\n  platform: [linux/amd64]\n`,
      'images[0].platform: expected one of the fields name, image, tags, platforms, target, got unknown field "platform" (did you mean platforms?)',
    ],
    [
      'unknown target field',
      `${HEAD}target: {repo: x}\nimages: []\n`,
      'bulk.yaml: target.repo: expected one of the fields registry, tag, got unknown field "repo"',
    ],
    [
      'a YAML merge key',
      `${HEAD}images:\n- <<: {name: n}\n  image: nginx\n  tags: {strategy: latest}\n`,
      'bulk.yaml: images[0]["<<"]: expected one of the fields',
    ],
    [
      'bad strategy',
      `${HEAD}images:\n- name: a\n  image: alpine\n  tags: {strategy: latest}\n- name: n\n  image: nginx\n  tags: {strategy: newest}\n`,
      'bulk.yaml: images[1].tags.strategy: expected one of list, pattern, latest, got "newest"',
    ],
    [
      'missing tags',
      `${HEAD}images:\n- name: n\n  image: nginx\n`,
      'bulk.yaml: images[0].tags: expected a mapping, got nothing (the field is missing)',
    ],
    [
      'list without list',
      IMG('{strategy: list}'),
      'bulk.yaml: images[0].tags.list: expected a non-empty list of tags for strategy list, got nothing (the field is missing)',
    ],
    [
      'list with an empty list',
      IMG('{strategy: list, list: []}'),
      'images[0].tags.list: expected a non-empty list of tags for strategy list, got an empty list',
    ],
    [
      'list with a bad tag',
      IMG('{strategy: list, list: ["1.2", "a/b"]}'),
      'bulk.yaml: images[0].tags.list[1]: expected a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), got "a/b"',
    ],
    [
      'list with a duplicate tag',
      IMG('{strategy: list, list: ["1.2", "1.2"]}'),
      'images[0].tags.list[1]: expected each tag once, got "1.2" again',
    ],
    [
      'list with a nested list',
      IMG('{strategy: list, list: [[1]]}'),
      'images[0].tags.list[0]: expected a string, got a list',
    ],
    [
      'list with exclude',
      IMG('{strategy: list, list: ["1"], exclude: ["1"]}'),
      'images[0].tags.exclude: expected no exclude with strategy list (it uses strategy, list), got a list',
    ],
    [
      'list with pattern',
      IMG('{strategy: list, list: ["1"], pattern: x}'),
      'images[0].tags.pattern: expected no pattern with strategy list',
    ],
    [
      'pattern without pattern',
      IMG('{strategy: pattern}'),
      'images[0].tags.pattern: expected a regular expression for strategy pattern, got nothing (the field is missing)',
    ],
    [
      'pattern with an empty pattern',
      IMG('{strategy: pattern, pattern: ""}'),
      'images[0].tags.pattern: expected a regular expression for strategy pattern, got ""',
    ],
    [
      'pattern that does not compile',
      IMG('{strategy: pattern, pattern: "^1.(2"}'),
      'images[0].tags.pattern: expected a JavaScript regular expression, got "^1.(2" (Invalid regular expression',
    ],
    [
      'pattern with list',
      IMG('{strategy: pattern, pattern: x, list: ["1"]}'),
      'images[0].tags.list: expected no list with strategy pattern',
    ],
    [
      'negative maxTags',
      IMG('{strategy: pattern, pattern: x, maxTags: -1}'),
      'images[0].tags.maxTags: expected a non-negative integer, got "-1"',
    ],
    [
      'fractional maxTags',
      IMG('{strategy: pattern, pattern: x, maxTags: 1.5}'),
      'images[0].tags.maxTags: expected a non-negative integer, got "1.5"',
    ],
    [
      'word maxTags',
      IMG('{strategy: pattern, pattern: x, maxTags: three}'),
      'images[0].tags.maxTags: expected a non-negative integer, got "three"',
    ],
    [
      'latest with maxTags',
      IMG('{strategy: latest, maxTags: 1}'),
      'images[0].tags.maxTags: expected no maxTags with strategy latest (it uses strategy, exclude), got "1"',
    ],
    [
      'latest with pattern',
      IMG('{strategy: latest, pattern: x}'),
      'images[0].tags.pattern: expected no pattern with strategy latest',
    ],
    [
      'exclude a string',
      IMG('{strategy: latest, exclude: "1.2"}'),
      'images[0].tags.exclude: expected a list, got "1.2"',
    ],
    [
      'image with a tag',
      `${HEAD}images:\n- name: n\n  image: nginx:1.2\n  tags: {strategy: latest}\n`,
      'bulk.yaml: images[0].image: expected a repository without tag or digest (tags go in tags), got "nginx:1.2"',
    ],
    [
      'image with a digest',
      `${HEAD}images:\n- name: n\n  image: nginx@sha256:${'a'.repeat(64)}\n  tags: {strategy: latest}\n`,
      'images[0].image: expected a repository without tag or digest',
    ],
    [
      'image uppercase',
      `${HEAD}images:\n- name: n\n  image: Nginx\n  tags: {strategy: latest}\n`,
      'images[0].image: expected a repository such as docker.io/library/nginx, got "Nginx" (repository name "library/Nginx" must be lowercase)',
    ],
    [
      'image empty',
      `${HEAD}images:\n- name: n\n  image: ""\n  tags: {strategy: latest}\n`,
      'images[0].image: expected a repository such as docker.io/library/nginx, got "" (reference is empty)',
    ],
    [
      'image missing',
      `${HEAD}images:\n- name: n\n  tags: {strategy: latest}\n`,
      'images[0].image: expected a string, got nothing (the field is missing)',
    ],
    [
      'name empty',
      `${HEAD}images:\n- name: ""\n  image: nginx\n  tags: {strategy: latest}\n`,
      'images[0].name: expected a non-empty one-line name, got ""',
    ],
    [
      'name blank',
      `${HEAD}images:\n- name: "  "\n  image: nginx\n  tags: {strategy: latest}\n`,
      'images[0].name: expected a non-empty one-line name',
    ],
    [
      'name with a newline',
      `${HEAD}images:\n- name: "a\\nb"\n  image: nginx\n  tags: {strategy: latest}\n`,
      'images[0].name: expected a non-empty one-line name, got "a\\nb"',
    ],
    [
      'name a mapping',
      `${HEAD}images:\n- name: {a: b}\n  image: nginx\n  tags: {strategy: latest}\n`,
      'images[0].name: expected a string, got a mapping',
    ],
    [
      'platform without arch',
      IMG('{strategy: latest}', '  platforms: [linux]\n'),
      'images[0].platforms[0]: expected a platform os/arch[/variant] such as linux/arm/v7, got "linux"',
    ],
    [
      'platform uppercase',
      IMG('{strategy: latest}', '  platforms: [linux/amd64, Linux/ARM64]\n'),
      'images[0].platforms[1]: expected a platform os/arch[/variant]',
    ],
    [
      'platform too long',
      IMG('{strategy: latest}', '  platforms: [linux/arm/v7/x]\n'),
      'images[0].platforms[0]: expected a platform',
    ],
    [
      'platforms empty',
      IMG('{strategy: latest}', '  platforms: []\n'),
      'images[0].platforms: expected at least one platform (omit the field for all platforms), got an empty list',
    ],
    [
      'global tag template',
      `${HEAD}target: {tag: "{{ .Foo }}"}\nimages: []\n`,
      'bulk.yaml: target.tag: expected a tag template of text and {{ .SourceTag }} such as "{{ .SourceTag }}-patched", got "{{ .Foo }}" (unsupported action "{{ .Foo }}"',
    ],
    [
      'image tag template',
      IMG('{strategy: latest}', '  target: {tag: "{{ .SourceTag }}/x"}\n'),
      'images[0].target.tag: expected a tag template of text and {{ .SourceTag }}',
    ],
    [
      'unbalanced template',
      IMG('{strategy: latest}', '  target: {tag: "{{ .SourceTag "}\n'),
      'images[0].target.tag: expected a tag template of text and {{ .SourceTag }} such as "{{ .SourceTag }}-patched", got "{{ .SourceTag " (unclosed action',
    ],
    [
      'empty template',
      IMG('{strategy: latest}', '  target: {tag: ""}\n'),
      'images[0].target.tag: expected a tag template of text and {{ .SourceTag }} such as "{{ .SourceTag }}-patched", got "" (empty)',
    ],
    [
      'bad registry',
      `${HEAD}target: {registry: "ghcr.io/My Org"}\nimages: []\n`,
      'bulk.yaml: target.registry: expected a registry host with an optional path such as ghcr.io/myorg, got "ghcr.io/My Org"',
    ],
    [
      'registry with a scheme',
      IMG('{strategy: latest}', '  target: {registry: "https://ghcr.io/org"}\n'),
      'images[0].target.registry: expected a registry host with an optional path',
    ],
    [
      'target a string',
      `${HEAD}target: ghcr.io/org\nimages: []\n`,
      'bulk.yaml: target: expected a mapping, got "ghcr.io/org"',
    ],
    ['empty target', `${HEAD}target:\nimages: []\n`, 'bulk.yaml: target: expected a mapping, got ""'],
  ])('%s', (_what, text, message) => {
    try {
      parsePatchConfig(text, 'bulk.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CopaError);
      const e = err as CopaError;
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain(message);
      expect(e.message.startsWith('bulk.yaml: ')).toBe(true);
      expect(e.message).not.toContain('\n');
      expect(e.hint).toBe('fix the config file; the schema is in the README (copa.sh/v1alpha1 PatchConfig)');
    }
  });

  it('rejects an alias bomb quickly', () => {
    let text = `${HEAD}a: &a ["x","x","x","x","x","x","x","x","x"]\n`;
    let previous = 'a';
    for (const name of 'bcdefghij') {
      text += `${name}: &${name} [${new Array(9).fill(`*${previous}`).join(',')}]\n`;
      previous = name;
    }
    const start = Date.now();
    expect(() => parsePatchConfig(text, 'bulk.yaml')).toThrow(/^bulk\.yaml: bad YAML: Excessive alias count/);
    expect(Date.now() - start).toBeLessThan(2000);
  });

  it('rejects input over 1 MiB before parsing it', () => {
    const text = `${HEAD}# ${'x'.repeat(1024 * 1024)}\n`;
    expect(() => parsePatchConfig(text, 'big.yaml')).toThrow(
      /^big\.yaml: file size: expected at most 1 MiB, got \d+ bytes$/,
    );
  });

  it('reports unknown fields before the missing field they explain', () => {
    expect(() => parsePatchConfig(IMG('{strategy: pattern, Pattern: x}'), 'f')).toThrow(
      /^f: images\[0\]\.tags\.Pattern: .*did you mean pattern\?/,
    );
  });
});
