import { describe, expect, it } from 'vitest';
import { parseLoadReply } from './docker.js';

describe('docker load reply', () => {
  it('collects "Loaded image" lines (tagged and untagged)', () => {
    const text = '{"stream":"Loaded image: app:1\\n"}\r\n{"stream":"Loaded image ID: sha256:abc\\n"}\r\n';
    expect(parseLoadReply(text)).toEqual({ loaded: ['app:1', 'sha256:abc'] });
  });

  it('reports the first error (errorDetail preferred), ignores lines that are not JSON objects', () => {
    const text = [
      'garbage',
      '{"status":"Loading layer","progressDetail":{"current":1,"total":2}}',
      '{"errorDetail":{"message":"invalid diffID for layer 0"},"error":"invalid diffID"}',
      '{"error":"second"}',
      '[1,2]',
    ].join('\n');
    expect(parseLoadReply(text)).toEqual({ loaded: [], error: 'invalid diffID for layer 0' });
    expect(parseLoadReply('{"error":"only error"}\n').error).toBe('only error');
    expect(parseLoadReply('')).toEqual({ loaded: [] });
  });
});
