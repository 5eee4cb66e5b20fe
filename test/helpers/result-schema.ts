/**
 * The JSON Schema of `copa patch --json` (schema/patch-result.schema.json), compiled once with ajv.
 * The e2e helper `copa()` checks every `patch --json` output against it.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

const schema = JSON.parse(
  readFileSync(new URL('../../schema/patch-result.schema.json', import.meta.url), 'utf8'),
) as object;

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

/** Problems of `value` against the schema ([] when it is valid). */
export function resultSchemaErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}
