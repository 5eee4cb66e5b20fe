import { describe, expect, it } from 'vitest';
import { eolApiUrl } from './patch.js';

describe('--eol-api-url', () => {
  it('flag, else $COPA_EOL_API_URL, else endoflife.date; trailing slashes dropped', () => {
    expect(eolApiUrl(undefined, {})).toBe('https://endoflife.date/api/v1/products');
    expect(eolApiUrl(undefined, { COPA_EOL_API_URL: '' })).toBe('https://endoflife.date/api/v1/products');
    expect(eolApiUrl(undefined, { COPA_EOL_API_URL: 'http://eol.local/api/' })).toBe('http://eol.local/api');
    expect(eolApiUrl('http://flag/api', { COPA_EOL_API_URL: 'http://env/api' })).toBe('http://flag/api');
  });

  it("'' or off turns the check off (air-gapped use)", () => {
    expect(eolApiUrl('', {})).toBe('');
    expect(eolApiUrl('off', { COPA_EOL_API_URL: 'http://env/api' })).toBe('');
    expect(eolApiUrl(undefined, { COPA_EOL_API_URL: 'off' })).toBe('');
  });
});
