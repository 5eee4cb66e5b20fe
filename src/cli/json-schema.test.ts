import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { jsonError } from './exit.js';

const schema = JSON.parse(
  readFileSync(new URL('../../schema/patch-result.schema.json', import.meta.url), 'utf8'),
) as object;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

describe('schema/patch-result.schema.json', () => {
  it('accepts the error objects --json prints on failure', () => {
    const usage = jsonError(new CopaError('USAGE', 'no image given', { hint: 'pass -i' }), 2);
    expect(usage).toEqual({
      status: 'Error',
      code: 'USAGE',
      exitCode: 2,
      message: 'no image given',
      hint: 'pass -i',
    });
    expect(validate(usage)).toBe(true);
    const internal = jsonError(new TypeError('x is undefined'), 1);
    expect(internal.code).toBe('INTERNAL');
    expect(validate(internal)).toBe(true);
  });

  it('accepts a patched result and refuses what does not fit', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const result = {
      status: 'Patched',
      image: 'r/app:1',
      patchedImage: 'r/app:1-patched',
      digest,
      platform: 'linux/amd64',
      plan: {
        mode: 'report',
        image: 'r/app:1',
        target: 'r/app:1-patched',
        platform: 'linux/amd64',
        os: { type: 'debian', version: '12' },
        alreadyFixed: [],
        notInstalled: [],
        held: [],
        updates: [{ name: 'openssl', from: '3.0.1', to: '3.0.2' }],
      },
      layer: {
        digest,
        diffID: digest,
        size: 10,
        uncompressedSize: 20,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
      installed: { openssl: '3.0.2' },
      output: { kind: 'registry', location: 'r/app:1-patched' },
      timings: [{ phase: 'layers ready', seconds: 1.2 }],
    };
    expect(validate(result)).toBe(true);
    const referrer = {
      artifactType: 'application/vnd.cyclonedx+json',
      digest,
      subject: digest,
      via: 'tag-schema',
      action: 'attached',
    };
    expect(
      validate({
        ...result,
        referrers: [referrer, { ...referrer, action: 'copied', platform: 'linux/arm64' }],
      }),
    ).toBe(true);
    expect(validate({ ...result, referrers: [{ ...referrer, via: 'guess' }] })).toBe(false);
    expect(validate({ ...result, status: 'Done' })).toBe(false);
    expect(validate({ ...result, surprise: 1 })).toBe(false);
    expect(validate({ status: 'Error', code: 'USAGE', exitCode: 0, message: 'x' })).toBe(false);
  });
});
