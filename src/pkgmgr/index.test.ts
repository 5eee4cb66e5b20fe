import { describe, expect, it } from 'vitest';
import { replaySession } from '../../test/helpers/rpm-replay.js';
import { osFromRelease } from '../patch/os.js';
import { canonicalFamily, chooseManager, managerFor } from './index.js';

const none = { dpkgStatus: false, dpkgStatusD: false };

describe('managerFor / chooseManager', () => {
  it('maps every supported family to its manager', () => {
    expect(managerFor({ type: 'alpine', version: '3.19.1' }, none).name).toBe('apk');
    expect(managerFor({ type: 'archlinux', version: '' }, none).name).toBe('pacman');
    expect(managerFor({ type: 'debian', version: '12' }, { ...none, dpkgStatus: true }).name).toBe('dpkg');
    for (const type of [
      'centos',
      'redhat',
      'rocky',
      'alma',
      'almalinux',
      'amazon',
      'oracle',
      'cbl-mariner',
      'azurelinux',
    ]) {
      expect(managerFor({ type, version: '9' }, none).name, type).toBe('rpm');
    }
  });

  it('accepts every OS type that os-release detection produces', () => {
    const names: Array<[string, string]> = [
      ['Rocky Linux', 'rpm'],
      ['AlmaLinux', 'rpm'],
      ['Red Hat Enterprise Linux', 'rpm'],
      ['CentOS Stream', 'rpm'],
      ['Amazon Linux', 'rpm'],
      ['Oracle Linux Server', 'rpm'],
      ['Common Base Linux Mariner', 'rpm'],
      ['Microsoft Azure Linux', 'rpm'],
      ['SLES', 'rpm'],
      ['openSUSE Leap', 'rpm'],
      ['openSUSE Tumbleweed', 'rpm'],
      ['Alpine Linux', 'apk'],
      ['Arch Linux', 'pacman'],
    ];
    for (const [name, manager] of names) {
      const os = osFromRelease(`NAME="${name}"\nVERSION_ID="1"\n`);
      expect(managerFor(os, none).name, name).toBe(manager);
    }
  });

  it('accepts Trivy spellings of OS families', () => {
    expect(canonicalFamily('SUSE Linux Enterprise Server')).toBe('sles');
    expect(canonicalFamily('opensuse.leap')).toBe('opensuse-leap');
    // Grype's distro names
    expect(canonicalFamily('amazonlinux')).toBe('amazon');
    expect(canonicalFamily('oraclelinux')).toBe('oracle');
    expect(canonicalFamily('rockylinux')).toBe('rocky');
    expect(canonicalFamily('mariner')).toBe('cbl-mariner');
    expect(canonicalFamily('opensuseleap')).toBe('opensuse-leap');
    expect(canonicalFamily('Alpine')).toBe('alpine');
  });

  it('unknown OS: a clear error listing what is supported', () => {
    expect(() => managerFor({ type: 'fedora', version: '40' }, none)).toThrow('unsupported osType fedora 40');
    expect(() => managerFor({ type: 'wolfi', version: '' }, none)).toThrow(/unsupported osType/);
  });

  it('chooses the RPM strategy from the image: in-image dnf, tool-less dnf chroot, SUSE zypper', async () => {
    const run = { reportMode: true, ignoreErrors: false };
    const withDnf = replaySession({
      steps: [],
      dirs: { '/usr/bin': ['dnf', 'rpm'], '/var/lib/rpm': ['rpmdb.sqlite'] },
    });
    expect((await chooseManager({ type: 'rocky', version: '9.3' }, withDnf, run)).name).toBe('rpm-dnf');
    const toolless = replaySession({ steps: [], dirs: { '/var/lib/rpm': ['rpmdb.sqlite'] } });
    const chroot = await chooseManager({ type: 'almalinux', version: '9.4' }, toolless, run);
    expect([chroot.name, chroot.tooling?.targetPath]).toEqual(['rpm-dnf-chroot', '/tmp/rootfs']);
    const suse = replaySession({ steps: [], dirs: { '/var/lib/rpm': ['Packages.db'] } });
    expect(
      (await chooseManager({ type: 'suse linux enterprise server', version: '15.6' }, suse, run)).name,
    ).toBe('rpm-zypper-chroot');
    await expect(chooseManager({ type: 'oracle', version: '8.9' }, withDnf, run)).rejects.toThrow(
      'detected Oracle image',
    );
    const mariner = replaySession({
      steps: [],
      dirs: { '/var/lib/rpmmanifest': ['container-manifest-1', 'container-manifest-2'] },
    });
    expect((await chooseManager({ type: 'cbl-mariner', version: '2.0' }, mariner, run)).name).toBe(
      'rpm-tdnf-distroless',
    );
    await expect(chooseManager({ type: 'rocky', version: '9' }, mariner, run)).rejects.toThrow(
      /rpmmanifest files but no rpm database/,
    );
  });

  it('chooses apt or the distroless dpkg manager from the dpkg files', async () => {
    const run = { reportMode: false, ignoreErrors: false };
    const apt = replaySession({ steps: [], files: { '/var/lib/dpkg/status': 'Package: a\n' } });
    expect((await chooseManager({ type: 'debian', version: '12' }, apt, run)).name).toBe('dpkg');
    const distroless = replaySession({ steps: [], dirs: { '/var/lib/dpkg/status.d': ['base-files'] } });
    expect((await chooseManager({ type: 'debian', version: '12' }, distroless, run)).name).toBe(
      'dpkg-distroless',
    );
  });
});
