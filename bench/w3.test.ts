import { describe, expect, it } from 'vitest';
import { splitSource } from './copa.js';
import { w3Label, type W3Plan } from './w3.js';

describe('W3 labels', () => {
  const plan = (report?: string): W3Plan => ({
    layoutDir: '/x',
    refName: '12',
    updates: report ? [{ name: 'openssl', from: '1', to: '2' }] : [],
    ...(report ? { report } : {}),
  });
  it('name the report size, or say update-all when nothing is upgradable today', () => {
    expect(w3Label(plan('r.json'), 'cold', false)).toBe('W3 distroless report (1 pkgs), cold');
    expect(w3Label(plan('r.json'), 'warm', true)).toBe(
      'W3 distroless report (1 pkgs): Copa v0.14.2 --ignore-errors, warm',
    );
    expect(w3Label(plan(), 'cold', false)).toBe('W3 distroless update-all (nothing upgradable today), cold');
    expect(w3Label(undefined, 'cold', false)).toBe('W3 distroless, cold');
  });
  it('splits a source at its last colon', () => {
    expect(splitSource('bench/distroless:12')).toEqual({ repository: 'bench/distroless', reference: '12' });
  });
});
