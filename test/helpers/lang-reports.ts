/**
 * Scanner reports of library findings, in the shapes Trivy (`trivy image -f json`) and Grype (`grype -o json`)
 * write them: one builder per scanner for every ecosystem the library managers handle.
 */

export type LangType = 'python-pkg' | 'node-pkg' | 'gobinary' | 'gomod' | 'dotnet-core';

export interface LangFinding {
  type: LangType;
  name: string;
  installed: string;
  fixed: string;
  /** Trivy style (no leading slash): the package's metadata file, a Go binary, a deps.json */
  path: string;
  /** default `CVE-2099-<idBase + index>` */
  id?: string;
}

export interface ReportImage {
  ref: string;
  /** the image's OS as the scanner saw it; omitted for scratch images */
  os?: { family: string; name: string };
  /** first number of generated IDs (default 2000) */
  idBase?: number;
}

/** Trivy names the result of these ecosystems by language; the others by the file (and give no PkgPath). */
const TRIVY_LANGUAGE_TARGET: Partial<Record<LangType, string>> = {
  'python-pkg': 'Python',
  'node-pkg': 'Node.js',
};

const GRYPE: Record<LangType, { type: string; purl: string; language: string; metadataType?: string }> = {
  'python-pkg': { type: 'python', purl: 'pypi', language: 'python' },
  'node-pkg': { type: 'npm', purl: 'npm', language: 'javascript' },
  gobinary: { type: 'go-module', purl: 'golang', language: 'go', metadataType: 'GolangBinMetadata' },
  gomod: { type: 'go-module', purl: 'golang', language: 'go', metadataType: 'GolangModMetadata' },
  'dotnet-core': { type: 'dotnet', purl: 'nuget', language: 'dotnet' },
};

const idOf = (img: ReportImage, f: LangFinding, i: number): string =>
  f.id ?? `CVE-2099-${(img.idBase ?? 2000) + i}`;

export function trivyLangReport(img: ReportImage, findings: LangFinding[]): string {
  const ids = new Map(findings.map((f, i) => [f, idOf(img, f, i)]));
  const groups = new Map<string, LangFinding[]>();
  for (const f of findings) {
    const key = `${f.type}\0${TRIVY_LANGUAGE_TARGET[f.type] ?? f.path}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const results = [...groups].map(([key, fs]) => {
    const [type = '', target = ''] = key.split('\0');
    const byLanguage = TRIVY_LANGUAGE_TARGET[type as LangType] !== undefined;
    return {
      Target: target,
      Class: 'lang-pkgs',
      Type: type,
      Vulnerabilities: fs.map((f) => ({
        VulnerabilityID: ids.get(f),
        PkgName: f.name,
        ...(byLanguage ? { PkgPath: f.path } : {}),
        InstalledVersion: f.installed,
        FixedVersion: f.fixed,
        Severity: 'HIGH',
      })),
    };
  });
  const os = img.os;
  return JSON.stringify(
    {
      SchemaVersion: 2,
      ArtifactName: img.ref,
      ArtifactType: 'container_image',
      Metadata: {
        ...(os ? { OS: { Family: os.family, Name: os.name } } : {}),
        ImageConfig: { architecture: 'amd64', os: 'linux' },
      },
      Results: [
        ...(os
          ? [{ Target: `${img.ref} (${os.family} ${os.name})`, Class: 'os-pkgs', Type: os.family }]
          : []),
        ...results,
      ],
    },
    null,
    2,
  );
}

export function grypeLangReport(img: ReportImage, findings: LangFinding[]): string {
  return JSON.stringify(
    {
      matches: findings.map((f, i) => {
        const g = GRYPE[f.type];
        return {
          vulnerability: {
            id: idOf(img, f, i),
            namespace: `github:language:${g.language}`,
            fix: { versions: [f.fixed], state: 'fixed' },
          },
          relatedVulnerabilities: [],
          matchDetails: [],
          artifact: {
            id: `a${i}`,
            name: f.name,
            version: f.installed,
            type: g.type,
            language: g.language,
            locations: [{ path: `/${f.path}` }],
            purl: `pkg:${g.purl}/${f.name}@${f.installed}`,
            ...(g.metadataType ? { metadataType: g.metadataType, metadata: {} } : {}),
          },
        };
      }),
      source: {
        type: 'image',
        target: { userInput: img.ref, architecture: 'amd64', architectureVariant: '' },
      },
      distro: img.os ? { name: img.os.family, version: img.os.name } : { name: '', version: '' },
      descriptor: { name: 'grype', version: '0.80.0' },
    },
    null,
    2,
  );
}
