import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { loadPatchConfig, parsePatchConfig, type PatchConfig } from './config.js';

const HEAD = 'apiVersion: copa.sh/v1alpha1\nkind: PatchConfig\n';

// The examples of Copa's bulk patching guide.
const GUIDE = `# copa-bulk-config.yaml
apiVersion: copa.sh/v1alpha1
kind: PatchConfig

# Optional: global default target for all images
target:
  registry: "ghcr.io/myorg"           # Target registry for patched images
  tag: "{{ .SourceTag }}-patched"     # Tag template (default if omitted)

images:
  - name: "nginx"
    image: "docker.io/library/nginx"  # Source registry
    tags:
      strategy: "pattern"              # pattern | latest | list
      pattern: "^1\\\\.2[0-9]\\\\.[0-9]+$"
      maxTags: 3                        # optional cap
      exclude: ["1.20.0", "1.20.1"]   # optional skip list
    # Inherits global target (or override per-image)

  - name: "python"
    image: "docker.io/library/python"
    tags:
      strategy: "list"
      list: ["3.9.18", "3.10.13", "3.11.7"]
    # Optional per-image platform filter for multi-arch
    platforms: ["linux/amd64", "linux/arm64"]
    # Optional: override global target for this image
    target:
      registry: "quay.io/special/python"
      tag: "{{ .SourceTag }}-fixed"

  - name: "alpine"
    image: "docker.io/library/alpine"
    tags:
      strategy: "latest"
`;

const CROSS_REGISTRY = `apiVersion: copa.sh/v1alpha1
kind: PatchConfig

# Global target: all patched images go to ghcr.io/myorg
target:
  registry: "ghcr.io/myorg"

images:
  - name: "redis"
    image: "quay.io/opstree/redis"  # Source: quay.io/opstree/redis
    tags:
      strategy: "list"
      list: ["v8.2.1"]
    # Result: patched image pushed to ghcr.io/myorg/redis:v8.2.1-patched
`;

describe('parsePatchConfig: valid files', () => {
  it('reads the guide’s full example', () => {
    expect(parsePatchConfig(GUIDE, 'bulk.yaml')).toStrictEqual({
      apiVersion: 'copa.sh/v1alpha1',
      kind: 'PatchConfig',
      target: { registry: 'ghcr.io/myorg', tag: '{{ .SourceTag }}-patched' },
      images: [
        {
          name: 'nginx',
          image: 'docker.io/library/nginx',
          tags: {
            strategy: 'pattern',
            pattern: '^1\\.2[0-9]\\.[0-9]+$',
            maxTags: 3,
            exclude: ['1.20.0', '1.20.1'],
          },
        },
        {
          name: 'python',
          image: 'docker.io/library/python',
          tags: { strategy: 'list', list: ['3.9.18', '3.10.13', '3.11.7'] },
          platforms: ['linux/amd64', 'linux/arm64'],
          target: { registry: 'quay.io/special/python', tag: '{{ .SourceTag }}-fixed' },
        },
        { name: 'alpine', image: 'docker.io/library/alpine', tags: { strategy: 'latest' } },
      ],
    } satisfies PatchConfig);
  });

  it('reads the guide’s cross-registry example', () => {
    const config = parsePatchConfig(CROSS_REGISTRY, 'bulk.yaml');
    expect(config.target).toStrictEqual({ registry: 'ghcr.io/myorg' });
    expect(config.images[0]?.tags).toStrictEqual({ strategy: 'list', list: ['v8.2.1'] });
  });

  it.each([
    [
      'the Ubuntu LTS pattern',
      "images:\n- name: u\n  image: ubuntu\n  tags: {strategy: pattern, pattern: '^(20|22|24)\\.04$', maxTags: 2}\n",
    ],
    [
      'unquoted version tags (kept as written, not as numbers)',
      'images:\n- name: p\n  image: python\n  tags: {strategy: list, list: [3.10, 22.04, 1.20]}\n',
    ],
    [
      'latest with exclude',
      'images:\n- name: a\n  image: alpine\n  tags: {strategy: latest, exclude: ["3.20"]}\n',
    ],
    [
      'a registry with port and a variant platform',
      'images:\n- name: d\n  image: 127.0.0.1:5000/team/debian\n  tags: {strategy: list, list: ["12"]}\n  platforms: [linux/arm/v7, linux/arm64/v8, linux/386]\n',
    ],
    [
      'maxTags 0',
      'images:\n- name: n\n  image: nginx\n  tags: {strategy: pattern, pattern: x, maxTags: 0}\n',
    ],
    [
      'anchors and aliases within limits',
      'images:\n- name: a\n  image: alpine\n  tags: &t {strategy: latest}\n- name: b\n  image: busybox\n  tags: *t\n',
    ],
  ])('accepts %s', (_what, body) => {
    expect(() => parsePatchConfig(HEAD + body, 'bulk.yaml')).not.toThrow();
  });

  it('accepts a byte order mark and CRLF line ends', () => {
    const text =
      '\uFEFF' +
      (HEAD + 'images:\n- name: a\n  image: alpine\n  tags: {strategy: latest}\n').replace(/\n/g, '\r\n');
    expect(parsePatchConfig(text, 'bulk.yaml').images[0]?.image).toBe('alpine');
  });

  it('keeps unquoted version-like tags as written', () => {
    const config = parsePatchConfig(
      HEAD + 'images:\n- name: p\n  image: python\n  tags: {strategy: list, list: [3.10, 22.04]}\n',
      'f',
    );
    expect(config.images[0]?.tags.list).toStrictEqual(['3.10', '22.04']);
  });
});

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

describe('loadPatchConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'copa-bulk-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file', async () => {
    const file = path.join(dir, 'ok.yaml');
    await writeFile(file, CROSS_REGISTRY);
    expect((await loadPatchConfig(file)).images[0]?.name).toBe('redis');
  });

  it('names the file in parse errors', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'kind: x\n');
    await expect(loadPatchConfig(file)).rejects.toThrow(`${file}: apiVersion: expected`);
  });

  it.each([
    ['missing', 'nope.yaml', 'cannot read the config file: no such file'],
    ['a directory', 'sub', 'expected a config file, got a directory or special file'],
  ])('rejects a %s path with a usage error naming it', async (_what, name, fragment) => {
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    const file = path.join(dir, name);
    const p = loadPatchConfig(file);
    await expect(p).rejects.toBeInstanceOf(CopaError);
    await expect(p).rejects.toMatchObject({ code: 'USAGE', message: `${file}: ${fragment}` });
  });

  it('rejects a file over 1 MiB without reading it', async () => {
    const file = path.join(dir, 'big.yaml');
    await writeFile(file, 'x'.repeat(1024 * 1024 + 1));
    await expect(loadPatchConfig(file)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('expected at most 1 MiB') as unknown,
    });
  });
});
