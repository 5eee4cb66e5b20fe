import { describe, expect, it } from 'vitest';
import { formatSetfattrDump, isPortableXattr, isValidXattrName, parseGetfattrDump } from './xattr.js';

describe('getfattr dump parsing', () => {
  it('reads paths with escapes and base64 values', () => {
    const dump = Buffer.concat([
      Buffer.from('# file: /u/d\ntrusted.overlay.opaque=0seQ==\n\n'),
      Buffer.from('# file: /u/d/a b=c\\134d\\012x\nuser.t=0sAAECgP8=\nuser.e=0s\n\n'),
      Buffer.from('# file: /u/caf'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('\nsecurity.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=\n\n'),
    ]);
    const m = parseGetfattrDump(dump);
    expect([...m.keys()]).toEqual(['/u/d', '/u/d/a b=c\\d\nx', '/u/café']);
    expect(m.get('/u/d')?.get('trusted.overlay.opaque')?.toString()).toBe('y');
    expect(m.get('/u/d/a b=c\\d\nx')?.get('user.t')).toEqual(Buffer.from([0, 1, 2, 0x80, 0xff]));
    expect(m.get('/u/d/a b=c\\d\nx')?.get('user.e')).toEqual(Buffer.alloc(0));
    expect(m.get('/u/café')?.get('security.capability')?.length).toBe(20);
  });

  it('writes what setfattr --restore reads, escaping odd bytes', () => {
    const out = formatSetfattrDump([
      { path: '/r/a b\\c\né', xattrs: [['user.x', Buffer.from([0xff, 0])]] },
      { path: '/r/none', xattrs: [] },
    ]).toString('latin1');
    expect(out).toBe('# file: /r/a\\040b\\134c\\012\\303\\251\nuser.x=0s/wA=\n\n');
    // and the parser reads it back
    expect([...parseGetfattrDump(Buffer.from(out, 'latin1')).keys()]).toEqual(['/r/a b\\c\né']);
  });

  it('validates names and filters what layers carry', () => {
    expect(isValidXattrName('security.capability')).toBe(true);
    expect(isValidXattrName('user.a=b')).toBe(false);
    expect(isValidXattrName('user.a\nb')).toBe(false);
    expect(isValidXattrName('nonamespace')).toBe(false);
    expect(isPortableXattr('trusted.overlay.opaque')).toBe(false);
    expect(isPortableXattr('trusted.overlay.origin')).toBe(false);
    expect(isPortableXattr('security.capability')).toBe(true);
    expect(isPortableXattr('user.mime_type')).toBe(true);
  });
});
