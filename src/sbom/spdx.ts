/**
 * An SPDX 2.3 JSON document of a patched image: the document DESCRIBES the patched image, which CONTAINS
 * its OS and packages (at their new versions) and is a DESCENDANT_OF its base image. A multi-platform run
 * describes the index, which CONTAINS one image package per patched platform. Pure: the time and the
 * namespace's UUID come from the input.
 */
import { randomUUID } from 'node:crypto';
import { repositoryName } from '../vex/purl.js';
import { imageEntries, imagePurl, platformLabel, uniqueIds } from './entries.js';
import type { ImageInventory, SbomInput } from './types.js';

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: 'NOASSERTION';
  filesAnalyzed: false;
  primaryPackagePurpose: 'CONTAINER' | 'OPERATING_SYSTEM' | 'LIBRARY';
  externalRefs?: Array<{
    referenceCategory: 'PACKAGE-MANAGER';
    referenceType: 'purl';
    referenceLocator: string;
  }>;
  comment?: string;
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS' | 'DESCENDANT_OF';
  relatedSpdxElement: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

/** SPDX ids are `SPDXRef-` followed by letters, digits, `.` and `-`. */
function spdxId(id: (s: string) => string, ...parts: string[]): string {
  return id(
    `SPDXRef-${parts
      .filter(Boolean)
      .join('-')
      .replace(/[^A-Za-z0-9.-]+/g, '-')}`,
  );
}

function purlRef(purl: string | undefined): Pick<SpdxPackage, 'externalRefs'> {
  return purl
    ? {
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl },
        ],
      }
    : {};
}

function container(spdxid: string, name: string, digest: string | undefined, comment?: string): SpdxPackage {
  return {
    SPDXID: spdxid,
    name: repositoryName(name),
    ...(digest ? { versionInfo: digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    ...purlRef(imagePurl(name, digest)),
    comment: comment ?? name,
  };
}

function imagePackages(img: ImageInventory, id: (s: string) => string, prefix: string): SpdxPackage[] {
  const out: SpdxPackage[] = [];
  if (img.os.type) {
    out.push({
      SPDXID: spdxId(id, prefix, 'OperatingSystem', img.os.type, img.os.version),
      name: img.os.type,
      versionInfo: img.os.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING_SYSTEM',
    });
  }
  for (const e of imageEntries(img)) {
    const notes = [
      ...(e.from !== undefined ? [e.from ? `patched by copa from ${e.from}` : 'installed by copa'] : []),
      ...(e.path ? [`${e.ecosystem ?? 'library'} at ${e.path}`] : []),
    ];
    out.push({
      SPDXID: spdxId(id, prefix, 'Package', e.kind === 'os' ? 'os' : (e.ecosystem ?? 'lib'), e.name),
      name: e.name,
      versionInfo: e.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'LIBRARY',
      ...purlRef(e.purl),
      ...(notes.length > 0 ? { comment: notes.join('; ') } : {}),
    });
  }
  return out;
}

export function buildSpdx(input: SbomInput, documentName = input.name): SpdxDocument {
  const id = uniqueIds();
  const uuid = input.uuid ?? randomUUID();
  const root = container(spdxId(id, 'Image'), input.name, input.digest);
  const base = container(spdxId(id, 'BaseImage'), input.base.name, input.base.digest);
  const packages: SpdxPackage[] = [root, base];
  const relationships: SpdxRelationship[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: root.SPDXID },
    { spdxElementId: root.SPDXID, relationshipType: 'DESCENDANT_OF', relatedSpdxElement: base.SPDXID },
  ];
  const contains = (parent: string, children: SpdxPackage[]): void => {
    packages.push(...children);
    for (const c of children) {
      relationships.push({
        spdxElementId: parent,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: c.SPDXID,
      });
    }
  };
  const only = input.index ? undefined : input.images[0];
  if (only) contains(root.SPDXID, imagePackages(only, id, ''));
  else {
    for (const img of input.images) {
      const label = platformLabel(img.platform);
      const image = container(spdxId(id, 'Image', label), input.name, img.digest, `${input.name} (${label})`);
      contains(root.SPDXID, [image]);
      contains(image.SPDXID, imagePackages(img, id, label));
    }
  }
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: documentName,
    documentNamespace: `urn:uuid:${uuid}`,
    creationInfo: {
      created: (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: copa-${input.toolVersion}`],
    },
    packages,
    relationships,
  };
}
