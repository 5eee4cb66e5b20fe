import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_NAMES, readInputs } from './inputs.js';

/** action.yml and the script must agree: every input reaches the script, every output is one it writes. */
const action = parse(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Array<{ id?: string; env?: Record<string, string>; run?: string }> };
};
const step = action.runs.steps.find((s) => s.id === 'copa');

describe('action.yml', () => {
  it('is a composite action whose copa step runs the built script', () => {
    expect(action.runs.using).toBe('composite');
    expect(step?.run).toContain('dist/action/main.js');
  });

  it("declares the copa-action's inputs (plus engine, push, report) and nothing the script does not read", () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.keys(INPUT_NAMES).sort());
    expect(action.inputs.image?.required).toBe(true);
  });

  it('passes every input as INPUT_<NAME> (- as _) set from that input', () => {
    for (const name of Object.keys(action.inputs)) {
      const key = `INPUT_${name.toUpperCase().replaceAll('-', '_')}`;
      expect(step?.env?.[key], key).toBe(`\${{ inputs.${name} }}`);
    }
  });

  it('its defaults are accepted by the script', () => {
    const env: Record<string, string> = { INPUT_IMAGE: 'app:1' };
    for (const [name, spec] of Object.entries(action.inputs)) {
      if (spec.default !== undefined) env[`INPUT_${name.toUpperCase().replaceAll('-', '_')}`] = spec.default;
    }
    expect(readInputs(env)).toMatchObject({ image: 'app:1', timeout: '5m', format: 'openvex', push: false });
  });

  it('outputs patched-image and exit-code from the copa step', () => {
    const values = Object.fromEntries(Object.entries(action.outputs).map(([k, v]) => [k, v.value]));
    expect(values).toEqual({
      'patched-image': '${{ steps.copa.outputs.patched-image }}',
      'exit-code': '${{ steps.copa.outputs.exit-code }}',
    });
  });
});
