/**
 * A CycloneDX 1.6 JSON BOM of a patched image: `metadata.component` is the patched image (its base as
 * `pedigree.ancestors`), `components` its OS and the packages in it at their new versions. A
 * multi-platform run describes the index: one container component per patched platform, holding that
 * platform's packages as nested components. Pure: the time and serial number come from the input.
 */
import { randomUUID } from 'node:crypto';
import { repositoryName } from '../vex/purl.js';
import { imageEntries, imagePurl, platformLabel, uniqueIds, type SbomEntry } from './entries.js';
import type { ImageInventory, SbomInput } from './types.js';

export const CYCLONEDX_SPEC_VERSION = '1.6';

interface Property {
  name: string;
  value: string;
}

export interface CdxComponent {
  type: 'container' | 'operating-system' | 'library' | 'application';
  'bom-ref': string;
  name: string;
  version?: string;
  purl?: string;
  pedigree?: { ancestors: CdxComponent[] };
  properties?: Property[];
  components?: CdxComponent[];
}

export interface CycloneDxBom {
  bomFormat: 'CycloneDX';
  specVersion: typeof CYCLONEDX_SPEC_VERSION;
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    lifecycles: Array<{ phase: 'post-build' }>;
    tools: { components: CdxComponent[] };
    component: CdxComponent;
  };
  components: CdxComponent[];
  dependencies: Array<{ ref: string; dependsOn: string[] }>;
}

/** `sh.copa:` namespaced properties (CycloneDX leaves property names to the producer). */
function entryProperties(e: SbomEntry): Property[] {
  const props: Property[] = [];
  if (e.from !== undefined) {
    props.push({ name: 'sh.copa:patched', value: 'true' });
    if (e.from !== '') props.push({ name: 'sh.copa:previous-version', value: e.from });
  }
  if (e.ecosystem) props.push({ name: 'sh.copa:package-type', value: e.ecosystem });
  if (e.path) props.push({ name: 'sh.copa:path', value: e.path });
  return props;
}

function containerComponent(ref: string, name: string, digest: string | undefined): CdxComponent {
  const purl = imagePurl(name, digest);
  return {
    type: 'container',
    'bom-ref': ref,
    name: repositoryName(name),
    ...(digest ? { version: digest } : {}),
    ...(purl ? { purl } : {}),
    properties: [{ name: 'sh.copa:reference', value: name }],
  };
}

/** The OS component and the package components of one image, bom-refs made unique by `id`. */
function imageComponents(img: ImageInventory, id: (s: string) => string, prefix: string): CdxComponent[] {
  const os: CdxComponent = {
    type: 'operating-system',
    'bom-ref': id(`${prefix}os:${img.os.type}-${img.os.version}`),
    name: img.os.type,
    version: img.os.version,
  };
  const packages = imageEntries(img).map((e): CdxComponent => {
    const props = entryProperties(e);
    return {
      type: 'library',
      'bom-ref': id(prefix + e.purl),
      name: e.name,
      version: e.version,
      purl: e.purl,
      ...(props.length > 0 ? { properties: props } : {}),
    };
  });
  return img.os.type ? [os, ...packages] : packages;
}

export function buildCycloneDx(input: SbomInput): CycloneDxBom {
  const id = uniqueIds();
  const root = containerComponent(
    id(imagePurl(input.name, input.digest) ?? input.name),
    input.name,
    input.digest,
  );
  root.pedigree = {
    ancestors: [containerComponent(id(`base:${input.base.name}`), input.base.name, input.base.digest)],
  };
  const dependencies: CycloneDxBom['dependencies'] = [];
  let components: CdxComponent[];
  const only = input.index ? undefined : input.images[0];
  if (only) {
    components = imageComponents(only, id, '');
    root.properties?.push({ name: 'sh.copa:platform', value: platformLabel(only.platform) });
    dependencies.push({ ref: root['bom-ref'], dependsOn: components.map((c) => c['bom-ref']) });
  } else {
    components = input.images.map((img) => {
      const label = platformLabel(img.platform);
      const c = containerComponent(
        id(imagePurl(input.name, img.digest) ?? `${input.name} ${label}`),
        input.name,
        img.digest,
      );
      c.properties?.push({ name: 'sh.copa:platform', value: label });
      c.components = imageComponents(img, id, `${label}:`);
      dependencies.push({ ref: c['bom-ref'], dependsOn: c.components.map((x) => x['bom-ref']) });
      return c;
    });
    dependencies.unshift({ ref: root['bom-ref'], dependsOn: components.map((c) => c['bom-ref']) });
  }
  return {
    bomFormat: 'CycloneDX',
    specVersion: CYCLONEDX_SPEC_VERSION,
    serialNumber: `urn:uuid:${input.uuid ?? randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      lifecycles: [{ phase: 'post-build' }],
      tools: {
        components: [
          { type: 'application', 'bom-ref': id('tool:copa'), name: 'copa', version: input.toolVersion },
        ],
      },
      component: root,
    },
    components,
    dependencies,
  };
}
