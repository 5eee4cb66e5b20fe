import { PackageURL } from 'packageurl-js';
import { describe, expect, it } from 'vitest';
import {
  encodePurlComponent,
  libraryPackageUrl,
  ociPackageUrl,
  osPackageUrl,
  packageArch,
  packageUrl,
  repositoryName,
} from './purl.js';

const debian12 = { osType: 'debian', osVersion: '12', arch: 'amd64' };

describe('encodePurlComponent (ECMA-427 character encoding)', () => {
  it.each([
    ['3.0.11-1', '3.0.11-1'],
    ['1:2.36-9+deb12u4', '1:2.36-9%2Bdeb12u4'],
    ['a b', 'a%20b'],
    ['x/y', 'x%2Fy'],
    ['@scope', '%40scope'],
    ["!*'()", '%21%2A%27%28%29'],
    ['~_.-', '~_.-'],
    ['é', '%C3%A9'],
    ['sha256:abc', 'sha256:abc'],
  ])('%s -> %s', (raw, encoded) => {
    expect(encodePurlComponent(raw)).toBe(encoded);
  });
});

describe('packageUrl: build cases of the purl specification test suite', () => {
  it.each([
    [
      {
        type: 'deb',
        namespace: 'debian',
        name: 'curl',
        version: '7.50.3-1',
        qualifiers: { arch: 'i386', distro: 'jessie' },
      },
      'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie',
    ],
    [
      {
        type: 'deb',
        namespace: 'debian',
        name: 'attr',
        version: '1:2.4.47-2+b1',
        qualifiers: { arch: 'amd64' },
      },
      'pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64',
    ],
    [
      {
        type: 'deb',
        namespace: 'debian',
        name: 'attr',
        version: '1:2.4.47-2',
        qualifiers: { arch: 'source' },
      },
      'pkg:deb/debian/attr@1:2.4.47-2?arch=source',
    ],
    [
      {
        type: 'rpm',
        namespace: 'fedora',
        name: 'curl',
        version: '7.50.3-1.fc25',
        qualifiers: { distro: 'fedora-25', arch: 'i386' },
      },
      'pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25',
    ],
    [
      { type: 'apk', namespace: 'alpine', name: 'curl', version: '7.83.0-r0', qualifiers: { arch: 'x86' } },
      'pkg:apk/alpine/curl@7.83.0-r0?arch=x86',
    ],
    [
      { type: 'golang', namespace: 'github.com/gorilla', name: 'context', version: '234fd47e07d1004f0aed9c' },
      'pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c',
    ],
    [
      { type: 'npm', namespace: '@angular', name: 'animation', version: '12.3.1' },
      'pkg:npm/%40angular/animation@12.3.1',
    ],
    [{ type: 'pypi', name: 'Django_package', version: '1.11.1.dev1' }, 'pkg:pypi/django-package@1.11.1.dev1'],
    [
      { type: 'nuget', name: 'EnterpriseLibrary.Common', version: '6.0.1304' },
      'pkg:nuget/EnterpriseLibrary.Common@6.0.1304',
    ],
    [
      {
        type: 'oci',
        name: 'debian',
        version: 'sha256:244fd47e07d10',
        qualifiers: { repository_url: 'docker.io/library/debian', arch: 'amd64', tag: 'latest' },
      },
      'pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest',
    ],
  ])('%j', (parts, expected) => {
    expect(packageUrl(parts)).toBe(expected);
  });

  it('drops empty qualifiers and an empty version', () => {
    expect(
      packageUrl({
        type: 'deb',
        namespace: 'debian',
        name: 'x',
        version: '',
        qualifiers: { arch: '', distro: undefined },
      }),
    ).toBe('pkg:deb/debian/x');
  });

  it('keeps a component packageurl-js rejects (a golang "v" version that is not semver) as given', () => {
    expect(packageUrl({ type: 'golang', name: 'stdlib', version: 'v1.21' })).toBe('pkg:golang/stdlib@v1.21');
  });

  it('round-trips through packageurl-js: every string parses back to the same components', () => {
    const s = osPackageUrl('libc6', '1:2.36-9+deb12u4', debian12);
    const back = PackageURL.fromString(s);
    expect([back.type, back.namespace, back.name, back.version, back.qualifiers]).toEqual([
      'deb',
      'debian',
      'libc6',
      '1:2.36-9+deb12u4',
      { arch: 'amd64', distro: 'debian-12' },
    ]);
  });
});

describe('osPackageUrl', () => {
  it.each([
    ['openssl', '3.0.11-1', debian12, 'pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12'],
    [
      'libssl3',
      '3.0.11-1~deb12u2',
      { ...debian12, osVersion: '12.5' },
      'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5',
    ],
    [
      'OpenSSL',
      '3.0.2-0ubuntu1.10',
      { osType: 'ubuntu', osVersion: '22.04', arch: 'arm64' },
      'pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?arch=arm64&distro=ubuntu-22.04',
    ],
    [
      'libc6',
      '2.36-9',
      { osType: 'debian', osVersion: '12', arch: 'arm', variant: 'v7' },
      'pkg:deb/debian/libc6@2.36-9?arch=armhf&distro=debian-12',
    ],
    [
      'libc6',
      '2.36-9',
      { osType: 'debian', osVersion: '12', arch: 'arm', variant: 'v5' },
      'pkg:deb/debian/libc6@2.36-9?arch=armel&distro=debian-12',
    ],
    [
      'libc6',
      '2.36-9',
      { osType: 'debian', osVersion: '12', arch: 'ppc64le' },
      'pkg:deb/debian/libc6@2.36-9?arch=ppc64el&distro=debian-12',
    ],
    [
      'libcrypto3',
      '3.1.4-r0',
      { osType: 'alpine', osVersion: '3.18.4', arch: 'amd64' },
      'pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&distro=alpine-3.18.4',
    ],
    [
      'libcrypto3',
      '3.1.4-r0',
      { osType: 'alpine', osVersion: '3.18', arch: 'arm', variant: 'v6' },
      'pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=armhf&distro=alpine-3.18',
    ],
    [
      'openssl-libs',
      '1:3.0.7-24.el9',
      { osType: 'redhat', osVersion: '9.3', arch: 'amd64' },
      'pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=redhat-9.3&epoch=1',
    ],
    [
      'curl',
      '0:8.5.0-1.cm2',
      { osType: 'cbl-mariner', osVersion: '2.0', arch: 'arm64' },
      'pkg:rpm/cbl-mariner/curl@8.5.0-1.cm2?arch=aarch64&distro=cbl-mariner-2.0',
    ],
    [
      'glibc',
      '2.34-52.amzn2023.0.8',
      { osType: 'amazon', osVersion: '2023', arch: 'amd64' },
      'pkg:rpm/amazon/glibc@2.34-52.amzn2023.0.8?arch=x86_64&distro=amazon-2023',
    ],
    [
      'openssl',
      '3.2.0-1',
      { osType: 'archlinux', osVersion: '', arch: 'amd64' },
      'pkg:alpm/arch/openssl@3.2.0-1?arch=x86_64',
    ],
    [
      'zlib',
      '1.3',
      { osType: 'someos', osVersion: '1', arch: 'amd64' },
      'pkg:generic/someos/zlib@1.3?arch=amd64&distro=someos-1',
    ],
  ])('%s %s on %j', (name, version, ctx, expected) => {
    expect(osPackageUrl(name, version, ctx)).toBe(expected);
  });

  it('omits arch and distro when the report has none', () => {
    expect(osPackageUrl('bash', '5.2.15-2', { osType: 'debian', osVersion: '', arch: '' })).toBe(
      'pkg:deb/debian/bash@5.2.15-2',
    );
  });
});

describe('libraryPackageUrl', () => {
  it.each([
    ['python-pkg', 'Django_REST', '2.0', 'pkg:pypi/django-rest@2.0'],
    ['python-pkg', 'requests', '2.25.1', 'pkg:pypi/requests@2.25.1'],
    ['node-pkg', 'lodash', '4.17.20', 'pkg:npm/lodash@4.17.20'],
    ['node-pkg', '@babel/traverse', '7.23.2', 'pkg:npm/%40babel/traverse@7.23.2'],
    [
      'gomod',
      'golang.org/x/net',
      'v0.0.0-20220722155237-a158d28d115b',
      'pkg:golang/golang.org/x/net@v0.0.0-20220722155237-a158d28d115b',
    ],
    ['gobinary', 'github.com/BurntSushi/toml', 'v1.3.2', 'pkg:golang/github.com/BurntSushi/toml@v1.3.2'],
    ['gobinary', 'stdlib', 'v1.21.5', 'pkg:golang/stdlib@v1.21.5'],
    [
      'gomod',
      'github.com/docker/docker',
      'v24.0.7+incompatible',
      'pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible',
    ],
    ['dotnet-core', 'Newtonsoft.Json', '12.0.1', 'pkg:nuget/Newtonsoft.Json@12.0.1'],
    ['jar', 'log4j', '2.14.0', 'pkg:generic/log4j@2.14.0'],
  ])('%s %s@%s', (eco, name, version, expected) => {
    expect(libraryPackageUrl(eco, name, version)).toBe(expected);
  });
});

describe('oci product', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  it.each([
    ['docker.io/library/nginx', 'nginx'],
    ['docker.io/library/nginx:1.25', 'nginx'],
    ['127.0.0.1:5000/team/App:1.0@sha256:00', 'app'],
    ['debian:12', 'debian'],
    ['debian', 'debian'],
  ])('%s -> %s', (ref, name) => {
    expect(repositoryName(ref)).toBe(name);
    expect(ociPackageUrl(ref, digest)).toBe(`pkg:oci/${name}@${digest}`);
  });
});

describe('packageArch', () => {
  it.each([
    ['deb', 'amd64', '', 'amd64'],
    ['deb', '386', '', 'i386'],
    ['rpm', 'arm64', '', 'aarch64'],
    ['rpm', '386', '', 'i686'],
    ['apk', '386', '', 'x86'],
    ['apk', 'arm', 'v7', 'armv7'],
    ['alpm', 'arm', 'v7', 'armv7h'],
    ['deb', 'loong64', '', 'loong64'],
  ] as const)('%s %s/%s -> %s', (type, arch, variant, expected) => {
    expect(packageArch(type, arch, variant)).toBe(expected);
  });
});
