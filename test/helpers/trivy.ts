/** Writes Trivy-format JSON reports (the fields Copa reads) for tests. */
export interface Vuln {
  pkg: string;
  installed: string;
  fixed: string;
  id?: string;
}

export function trivyReport(opts: {
  family: string;
  version: string;
  arch: string;
  image: string;
  vulns: Vuln[];
}): string {
  return JSON.stringify(
    {
      SchemaVersion: 2,
      ArtifactName: opts.image,
      ArtifactType: 'container_image',
      Metadata: {
        OS: { Family: opts.family, Name: opts.version },
        ImageConfig: { architecture: opts.arch, os: 'linux' },
      },
      Results: [
        {
          Target: `${opts.image} (${opts.family} ${opts.version})`,
          Class: 'os-pkgs',
          Type: opts.family,
          Vulnerabilities: opts.vulns.map((v, i) => ({
            VulnerabilityID: v.id ?? `CVE-2099-${1000 + i}`,
            PkgName: v.pkg,
            InstalledVersion: v.installed,
            FixedVersion: v.fixed,
            Severity: 'HIGH',
          })),
        },
      ],
    },
    null,
    2,
  );
}
