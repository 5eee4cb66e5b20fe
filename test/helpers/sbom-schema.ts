/**
 * The official SBOM JSON schemas, vendored in src/sbom/schemas (see its README): CycloneDX 1.6 (with the
 * spdx and jsf schemas it $refs) and SPDX 2.3, compiled once with ajv + ajv-formats. Unit tests of the
 * builders and the e2e test validate documents with them.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const load = (name: string): object =>
  JSON.parse(readFileSync(new URL(`../../src/sbom/schemas/${name}`, import.meta.url), 'utf8')) as object;

function compile(main: string, refs: string[] = []): ValidateFunction {
  // strict off: the official schemas carry keywords ajv's strict mode rejects (CycloneDX's `meta:enum`)
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // draft-07's internationalised formats, which ajv-formats leaves out (our documents use neither field):
  // checked loosely rather than silently ignored
  ajv.addFormat('iri-reference', /^[^\s\p{Cc}]*$/u);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/u);
  for (const r of refs) ajv.addSchema(load(r));
  return ajv.compile(load(main));
}

let cdx: ValidateFunction | undefined;
let spdx: ValidateFunction | undefined;

function errors(validate: ValidateFunction, doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** Problems of `doc` against the CycloneDX 1.6 JSON schema ([] when valid). */
export function cycloneDxErrors(doc: unknown): string[] {
  cdx ??= compile('bom-1.6.schema.json', ['spdx.schema.json', 'jsf-0.82.schema.json']);
  return errors(cdx, doc);
}

/** Problems of `doc` against the SPDX 2.3 JSON schema ([] when valid). */
export function spdxErrors(doc: unknown): string[] {
  spdx ??= compile('spdx-2.3.schema.json');
  return errors(spdx, doc);
}
