import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildkitdToml,
  daemonPaths,
  peerPaths,
  sourcePolicy,
  TOOLING_SOURCES,
  unmountOrder,
} from './buildkit.js';

describe('buildkitd.toml', () => {
  it('enables the OCI worker on overlayfs without GC and marks every given registry plain-HTTP', () => {
    const toml = buildkitdToml(['127.0.0.1:5077', '127.0.0.1:6000']);
    expect(toml).toBe(
      [
        '[worker.oci]',
        '  enabled = true',
        '  snapshotter = "overlayfs"',
        '  gc = false',
        '[worker.containerd]',
        '  enabled = false',
        '[registry."127.0.0.1:5077"]',
        '  http = true',
        '  insecure = true',
        '[registry."127.0.0.1:6000"]',
        '  http = true',
        '  insecure = true',
        '',
      ].join('\n'),
    );
  });
});

describe('source policy for the tooling image', () => {
  it('converts all four names Copa v0.14.2 may pull (both registries, 12-slim and stable-slim)', () => {
    const policy = sourcePolicy('127.0.0.1:5077/copa-tooling/debian:12-slim');
    expect(policy.rules.map((r) => r.selector.identifier)).toEqual([
      'docker-image://ghcr.io/project-copacetic/copacetic/debian:12-slim',
      'docker-image://ghcr.io/project-copacetic/copacetic/debian:stable-slim',
      'docker-image://docker.io/library/debian:12-slim',
      'docker-image://docker.io/library/debian:stable-slim',
    ]);
    expect(TOOLING_SOURCES).toHaveLength(4);
    for (const rule of policy.rules) {
      expect(rule.action).toBe('CONVERT');
      expect(rule.updates.identifier).toBe('docker-image://127.0.0.1:5077/copa-tooling/debian:12-slim');
    }
  });
});

describe('unmountOrder', () => {
  it('puts the deepest mount points first and drops blanks and duplicates', () => {
    const out = '/r/root\n/r/root/snapshots/1/fs\n\n/r/root/snapshots/2/fs/proc\n/r/root/snapshots/1/fs\n';
    expect(unmountOrder(out)).toEqual(['/r/root/snapshots/2/fs/proc', '/r/root/snapshots/1/fs', '/r/root']);
  });
});

describe('peerPaths', () => {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  it('says which binary is missing and how to give it', () => {
    expect(peerPaths({}, env)).toBe('n/a (no copa: set COPA_BENCH_COPA or --peer-copa)');
    expect(peerPaths({ peerCopa: '/bin/sh' }, env)).toBe(
      'n/a (no buildkitd: set COPA_BENCH_BUILDKITD or --buildkitd)',
    );
    expect(peerPaths({}, { ...env, COPA_BENCH_COPA: '/nonexistent/copa' })).toBe(
      'n/a (copa /nonexistent/copa is not an executable file)',
    );
  });
  it('takes flags before the environment, and needs runc on PATH', async () => {
    const all = { peerCopa: '/bin/sh', buildkitd: '/bin/sh', buildctl: '/bin/sh' };
    expect(peerPaths(all, { PATH: '/nonexistent' })).toMatch(/^n\/a \(runc not on PATH/);
    const bin = await mkdtemp(join(tmpdir(), 'bench-peer-paths-'));
    try {
      await writeFile(join(bin, 'runc'), '#!/bin/sh\n', { mode: 0o755 });
      const viaEnv = {
        PATH: bin,
        COPA_BENCH_COPA: '/bin/true',
        COPA_BENCH_BUILDKITD: '/bin/true',
        COPA_BENCH_BUILDCTL: '/bin/true',
      };
      expect(peerPaths({ peerCopa: '/bin/sh' }, viaEnv)).toEqual({
        copa: '/bin/sh',
        buildkitd: '/bin/true',
        buildctl: '/bin/true',
      });
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});

describe('daemonPaths', () => {
  it('needs buildkitd, buildctl and runc but not the original Copa (our BuildKit-engine rows)', async () => {
    expect(daemonPaths({}, { PATH: '/usr/bin' })).toBe(
      'n/a (no buildkitd: set COPA_BENCH_BUILDKITD or --buildkitd)',
    );
    expect(daemonPaths({ buildkitd: '/bin/sh' }, { PATH: '/usr/bin' })).toBe(
      'n/a (no buildctl: set COPA_BENCH_BUILDCTL or --buildctl)',
    );
    expect(daemonPaths({ buildkitd: '/bin/sh', buildctl: '/bin/sh' }, { PATH: '/nonexistent' })).toMatch(
      /^n\/a \(runc not on PATH/,
    );
    const bin = await mkdtemp(join(tmpdir(), 'bench-daemon-paths-'));
    try {
      await writeFile(join(bin, 'runc'), '#!/bin/sh\n', { mode: 0o755 });
      const env = { PATH: bin, COPA_BENCH_BUILDKITD: '/bin/true', COPA_BENCH_BUILDCTL: '/bin/true' };
      expect(daemonPaths({ buildctl: '/bin/sh' }, env)).toEqual({
        buildkitd: '/bin/true',
        buildctl: '/bin/sh',
      });
      // the peer's rows still say why they cannot run
      expect(peerPaths({}, env)).toBe('n/a (no copa: set COPA_BENCH_COPA or --peer-copa)');
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
