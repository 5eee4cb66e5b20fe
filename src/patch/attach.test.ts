import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import type { SbomDocument } from '../sbom/index.js';
import type { OpenVexDocument } from '../vex/index.js';
import { silentLogger } from '../log.js';
import { RegistryClient } from '../oci/registry/client.js';
import { artifactsOf, attachReferrers, checkAttach } from './attach.js';

const subject = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'c'.repeat(64)}`,
  size: 99,
};
const sbom = { bomFormat: 'CycloneDX', specVersion: '1.6', components: [] } as unknown as SbomDocument;
const vex = { '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] } as unknown as OpenVexDocument;

describe('--attach', () => {
  it('needs --push: a usage error before any work (a dry run writes nothing anyway)', () => {
    let err: unknown;
    try {
      checkAttach({ attach: true, push: false, dryRun: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('USAGE');
    expect((err as CopaError).message).toBe('--attach needs --push (referrers live in a registry)');
    expect(() => checkAttach({ attach: true, push: true, dryRun: false })).not.toThrow();
    expect(() => checkAttach({ attach: false, push: false, dryRun: false })).not.toThrow();
    expect(() => checkAttach({ attach: true, push: false, dryRun: true })).not.toThrow();
  });

  it('one artifact per document: the SBOM first (its format picks the artifactType), then the VEX', () => {
    const created = '2026-12-07T00:00:00Z';
    const both = artifactsOf({ subject, sbom, sbomFormat: 'cyclonedx', vex }, created);
    expect(both.map((a) => a.descriptor.artifactType)).toEqual([
      'application/vnd.cyclonedx+json',
      'application/vnd.openvex+json',
    ]);
    for (const a of both) {
      const m = JSON.parse(a.raw.toString()) as { subject: unknown; annotations: Record<string, string> };
      expect(m.subject).toEqual(subject);
      expect(m.annotations).toEqual({ 'org.opencontainers.image.created': created });
    }
    expect(JSON.parse(both[1]?.blob.toString() ?? '')).toEqual(vex);
    const spdx = artifactsOf({ subject, sbom, sbomFormat: 'spdx' }, created);
    expect(spdx.map((a) => a.descriptor.artifactType)).toEqual(['application/spdx+json']);
  });

  it('a failed attach keeps its cause (code, message) and says that the pushed image stays', async () => {
    // nothing listens on port 9 of loopback: a real connection refusal
    const client = new RegistryClient({ retries: 0 });
    const target = { registry: '127.0.0.1:9', repository: 'app', tag: '1-patched' };
    const items = [{ subject, sbom, sbomFormat: 'cyclonedx' as const }];
    const err = await attachReferrers(client, target, items, silentLogger).catch((e: unknown) => e);
    await client.close();
    expect(err).toBeInstanceOf(CopaError);
    const e = err as CopaError;
    expect(e.code).toBe('NETWORK');
    expect(e.message).toMatch(
      /^--attach failed: attaching application\/vnd\.cyclonedx\+json to 127\.0\.0\.1:9\/app@sha256:c+/,
    );
    expect(e.hint).toContain(
      `the patched image 127.0.0.1:9/app:1-patched (${subject.digest}) was pushed and stays`,
    );
  });
});
