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
