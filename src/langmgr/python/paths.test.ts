import { describe, expect, it } from 'vitest';
import {
  locate,
  metadataField,
  metaEntriesFor,
  normalizeName,
  parseMetaDirName,
  pipErrorLine,
  validName,
  validVersion,
} from './paths.js';

describe('python report data checks', () => {
  it('accepts PyPI names and PEP 440 versions, rejects shell text and junk', () => {
    expect(['urllib3', 'zope.interface', 'typing_extensions', 'A-b.c_9'].every(validName)).toBe(true);
    expect(['-rf', 'a;b', 'a b', '', 'x-', '$(id)', 'a/b'].some(validName)).toBe(false);
    expect(['1.26.5', '2.0.0rc1', '1!2.0', '1.0.post1', '1.0.dev3', '1.0+local.1'].every(validVersion)).toBe(
      true,
    );
    expect(['1.0;rm', ' 1.0', 'latest', '1.0 || 2', '$(x)', ''].some(validVersion)).toBe(false);
    expect(normalizeName('Foo_Bar.baz--x')).toBe('foo-bar-baz-x');
  });
});

describe('locate', () => {
  it('a venv package: prefix outside /usr, site dir, X.Y', () => {
    const l = locate('app/venv/lib/python3.11/site-packages/urllib3-1.26.4.dist-info/METADATA');
    expect(l).toMatchObject({
      site: '/app/venv/lib/python3.11/site-packages',
      prefix: '/app/venv',
      pyVersion: '3.11',
      ownPrefix: true,
      debianDist: false,
      vendoredIn: undefined,
    });
    expect(locate('/app/venv/lib/python3.11/site-packages/urllib3-1.26.4.dist-info/METADATA')?.site).toBe(
      '/app/venv/lib/python3.11/site-packages',
    );
  });

  it('system dirs, Debian dist-packages, vendored copies, non-package paths', () => {
    expect(locate('usr/local/lib/python3.12/site-packages/pip-24.0.dist-info/METADATA')).toMatchObject({
      prefix: '/usr/local',
      ownPrefix: false,
    });
    expect(locate('usr/lib/az/lib/python3.11/site-packages/x-1.0.dist-info/METADATA')?.ownPrefix).toBe(false);
    expect(locate('usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO')).toMatchObject({
      debianDist: true,
      pyVersion: undefined,
    });
    const v = locate(
      'usr/local/lib/python3.11/site-packages/setuptools/_vendor/wheel-0.38.4.dist-info/METADATA',
    );
    expect(v).toMatchObject({
      vendoredIn: 'setuptools',
      vendoredMeta: 'setuptools/_vendor/wheel-0.38.4.dist-info',
    });
    expect(locate('app/requirements.txt')).toBeUndefined();
    expect(locate('usr/lib/python3.11/site-packages')).toBeUndefined();
    expect(locate('app/../etc/lib/python3.11/site-packages/x-1.dist-info/METADATA')).toBeUndefined();
  });
});

describe('metadata', () => {
  it('metadata entry names, fields, matching by normalised name', () => {
    expect(parseMetaDirName('urllib3-1.26.4.dist-info')).toEqual({ name: 'urllib3', version: '1.26.4' });
    expect(parseMetaDirName('typing_extensions-4.8.0.dist-info')?.name).toBe('typing_extensions');
    expect(parseMetaDirName('PyYAML-5.4.1-py3.11.egg-info')).toEqual({ name: 'PyYAML', version: '5.4.1' });
    expect(parseMetaDirName('urllib3')).toBeUndefined();
    const text = 'Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.5 \n\nVersion: 9.9\n';
    expect(metadataField(text, 'Version')).toBe('1.26.5');
    const listing = [
      'typing_extensions-4.8.0.dist-info',
      'typing_extensions.py',
      'urllib3',
      'urllib3-1.26.4.dist-info',
    ];
    expect(metaEntriesFor(listing, 'typing-extensions')).toEqual(['typing_extensions-4.8.0.dist-info']);
    expect(metaEntriesFor(listing, 'URLLIB3')).toEqual(['urllib3-1.26.4.dist-info']);
  });

  it("pip's one-line error", () => {
    const err =
      'Looking in indexes: x\nERROR: Could not find a version\nERROR: No matching distribution found for a==9\n';
    expect(pipErrorLine(err)).toBe('ERROR: No matching distribution found for a==9');
    expect(pipErrorLine('', 'boom\n')).toBe('boom');
  });
});
