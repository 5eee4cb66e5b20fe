import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { sha256 } from '../oci/digest.js';
import type { UpdateManifest, UpdatePackage } from '../report/types.js';
import { buildOpenVex, canonicalJson, OPENVEX_CONTEXT, vexAuthor, type BuildVexInput } from './openvex.js';
import type { OpenVexDocument } from './types.js';
import { serializeVex, writeVex } from './write.js';

const GOLDEN = new URL('./testdata/debian12.openvex.json', import.meta.url);
const SCHEMA = new URL('./openvex.schema.json', import.meta.url);
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const NOW = new Date('2024-05-01T12:00:00Z');

function os(name: string, installed: string, fixed: string, id: string): UpdatePackage {
  return {
    name,
    installedVersion: installed,
    fixedVersion: fixed,
    vulnerabilityID: id,
    type: 'debian',
    class: 'os-pkgs',
  };
}
function lib(type: string, name: string, installed: string, fixed: string, id: string): UpdatePackage {
  return {
    name,
    installedVersion: installed,
    fixedVersion: fixed,
    vulnerabilityID: id,
    type,
    class: 'lang-pkgs',
  };
}

const osUpdates = [
  os('openssl', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'CVE-2023-5678'),
  os('libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'CVE-2023-5678'),
  os('openssl', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'CVE-2023-5678'), // duplicate
  os('libc6', '2.36-9+deb12u3', '2.36-9+deb12u4', 'CVE-2023-6246'),
  os('libc-bin', '2.36-9+deb12u3', '2.36-9+deb12u4', 'CVE-2023-6246'),
  os('openssl', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'CVE-2023-6129'),
  os('zlib1g', '1:1.2.13.dfsg-1', '1:1.2.13.dfsg-1', 'CVE-2023-45853'), // fixed == installed
  os('tar', '1.34+dfsg-1.2', '1.34+dfsg-1.2+deb12u1', ''), // no vulnerability ID
  os('curl', '7.88.1-10+deb12u4', '', 'CVE-2024-0001'), // no fixed version
  os('perl-base', '5.36.0-7', '5.36.0-7+deb12u1', 'CVE-2023-47038'), // failed validation
];
const langUpdates = [
  lib('python-pkg', 'Jinja2', '3.1.2', '3.1.3', 'CVE-2024-22195'),
  lib('node-pkg', '@babel/traverse', '7.22.5', '7.23.2', 'CVE-2023-45133'),
  lib('gobinary', 'golang.org/x/net', 'v0.17.0', 'v0.23.0', 'CVE-2023-45288'),
  lib('dotnet-core', 'System.Text.Json', '8.0.0', '8.0.4', 'CVE-2024-30105'),
];
const manifest: UpdateManifest = {
  os: { type: 'debian', version: '12' },
  arch: 'amd64',
  osUpdates,
  langUpdates,
  source: 'trivy',
};

function input(over: Partial<BuildVexInput> = {}): BuildVexInput {
  return {
    imageRef: '127.0.0.1:5000/library/debian:12',
    imageDigest: DIGEST,
    manifest,
    validated: [...osUpdates, ...langUpdates],
    failedNames: new Set(['perl-base']),
    author: 'Project Copacetic',
    now: NOW,
    ...over,
  };
}

async function validator(): Promise<(doc: unknown) => string[]> {
  const schema = JSON.parse(await readFile(SCHEMA, 'utf8')) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  return (doc) =>
    validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

describe('buildOpenVex', () => {
  it('matches the golden document for a fixed time', async () => {
    const doc = buildOpenVex(input());
    expect(serializeVex(doc)).toBe(await readFile(GOLDEN, 'utf8'));
  });

  it('validates against the schema written from the OpenVEX specification', async () => {
    const errors = (await validator())(buildOpenVex(input()));
    expect(errors).toEqual([]);
  });

  it('the schema rejects what the specification forbids', async () => {
    const validate = await validator();
    const good = buildOpenVex(input());
    const statement = good.statements[0];
    expect(statement).toBeDefined();
    const cases: Array<[string, unknown, string]> = [
      ['no statements', { ...good, statements: [] }, '/statements must NOT have fewer than 1 items'],
      ['version 0', { ...good, version: 0 }, '/version must be >= 1'],
      ['timestamp not a date-time', { ...good, timestamp: 'yesterday' }, '/timestamp must match format'],
      ['unknown context', { ...good, '@context': 'https://example.com/vex' }, '/@context must match pattern'],
      [
        'unknown status',
        { ...good, statements: [{ ...statement, status: 'patched' }] },
        '/statements/0/status must be equal',
      ],
      [
        'vulnerability without name',
        { ...good, statements: [{ ...statement, vulnerability: {} }] },
        "required property 'name'",
      ],
      [
        'not_affected, no justification',
        { ...good, statements: [{ ...statement, status: 'not_affected' }] },
        "'justification'",
      ],
      [
        'affected, no action statement',
        { ...good, statements: [{ ...statement, status: 'affected' }] },
        "'action_statement'",
      ],
      ['unknown document field', { ...good, extra: 1 }, 'must NOT have additional properties'],
      [
        'unknown hash name',
        {
          ...good,
          statements: [{ ...statement, products: [{ '@id': 'pkg:oci/x', hashes: { crc32: '00' } }] }],
        },
        '/statements/0/products/0/hashes must NOT have additional properties',
      ],
    ];
    for (const [what, doc, error] of cases) expect(validate(doc).join('\n'), what).toContain(error);
    expect(
      validate({
        ...good,
        statements: [{ ...statement, status: 'not_affected', justification: 'component_not_present' }],
      }),
    ).toEqual([]);
  });

  it('states one fixed statement per vulnerability, sorted, with deduplicated sorted subcomponents', () => {
    const doc = buildOpenVex(input());
    expect(doc['@context']).toBe(OPENVEX_CONTEXT);
    expect(doc.statements.map((s) => s.vulnerability.name)).toEqual([
      'CVE-2023-45133',
      'CVE-2023-45288',
      'CVE-2023-5678',
      'CVE-2023-6129',
      'CVE-2023-6246',
      'CVE-2024-22195',
      'CVE-2024-30105',
    ]);
    const s = doc.statements.find((x) => x.vulnerability.name === 'CVE-2023-5678');
    expect(s?.status).toBe('fixed');
    expect(s?.products).toEqual([
      {
        '@id': `pkg:oci/debian@${DIGEST}`,
        subcomponents: [
          { '@id': 'pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12' },
          { '@id': 'pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12' },
        ],
      },
    ]);
  });

  it('leaves out empty IDs, empty fixed versions, fixed == installed and failed packages', () => {
    const names = JSON.stringify(buildOpenVex(input()));
    for (const absent of [
      'CVE-2023-45853',
      'CVE-2024-0001',
      'CVE-2023-47038',
      'pkg:deb/debian/tar',
      'perl-base',
    ]) {
      expect(names).not.toContain(absent);
    }
    expect(
      buildOpenVex(input({ failedNames: new Set() })).statements.map((s) => s.vulnerability.name),
    ).toContain('CVE-2023-47038');
  });

  it('is deterministic: input order does not change the bytes, and the @id is the hash of the rest', () => {
    const a = buildOpenVex(input());
    const b = buildOpenVex(input({ validated: [...langUpdates, ...osUpdates].reverse() }));
    expect(serializeVex(b)).toBe(serializeVex(a));
    const { '@id': id, ...rest } = a;
    expect(id).toBe(
      `https://openvex.dev/docs/public/vex-${sha256(canonicalJson(rest)).slice('sha256:'.length)}`,
    );
    expect(buildOpenVex(input({ now: new Date('2024-05-02T00:00:00Z') }))['@id']).not.toBe(id);
  });

  it('returns a document without statements when nothing is left to state', () => {
    expect(buildOpenVex(input({ validated: [osUpdates[6] as UpdatePackage] })).statements).toEqual([]);
  });

  it('takes the author from COPA_VEX_AUTHOR, else "Project Copacetic"', () => {
    expect(vexAuthor({ COPA_VEX_AUTHOR: 'security@example.com' })).toBe('security@example.com');
    expect(vexAuthor({ COPA_VEX_AUTHOR: '' })).toBe('Project Copacetic');
    expect(vexAuthor({})).toBe('Project Copacetic');
    const { author: _drop, ...noAuthor } = input();
    const saved = process.env.COPA_VEX_AUTHOR;
    process.env.COPA_VEX_AUTHOR = 'Team Blue';
    try {
      expect(buildOpenVex(noAuthor).author).toBe('Team Blue');
    } finally {
      if (saved === undefined) delete process.env.COPA_VEX_AUTHOR;
      else process.env.COPA_VEX_AUTHOR = saved;
    }
  });

  it('refuses a product digest that is not a sha256 digest', () => {
    expect(() => buildOpenVex(input({ imageDigest: 'latest' }))).toThrow(CopaError);
  });
});

describe('writeVex', () => {
  let dir = '';
  let doc: OpenVexDocument;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-vex-'));
    doc = buildOpenVex(input());
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a new file through a temporary file (mode 0600, nothing else left behind)', async () => {
    const path = join(dir, 'vex.json');
    await writeVex(path, doc);
    expect(await readFile(path, 'utf8')).toBe(serializeVex(doc));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['vex.json']);
  });

  it('overwrites an existing file in place: same inode, mode kept, through a symlink', async () => {
    const target = join(dir, 'target.json');
    await writeFile(target, 'old contents that are longer than nothing'.repeat(200), { mode: 0o644 });
    const before = await stat(target);
    const link = join(dir, 'link.json');
    await symlink(target, link);
    await writeVex(link, doc);
    const after = await stat(target);
    expect(after.ino).toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o644);
    expect(await readFile(target, 'utf8')).toBe(serializeVex(doc));
  });

  it('a missing directory is a one-line usage error', async () => {
    await expect(writeVex(join(dir, 'nope', 'vex.json'), doc)).rejects.toMatchObject({ code: 'USAGE' });
  });
});
