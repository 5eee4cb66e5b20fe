/**
 * The subset of an OpenVEX v0.2.0 document that copa writes (openvex/spec OPENVEX-SPEC.md).
 * Only `fixed` statements are ever emitted.
 */
export interface VexComponent {
  '@id': string;
}

export interface VexProduct extends VexComponent {
  subcomponents?: VexComponent[];
}

export interface VexStatement {
  vulnerability: { name: string };
  products: VexProduct[];
  status: 'fixed';
}

export interface OpenVexDocument {
  '@context': string;
  '@id': string;
  author: string;
  timestamp: string;
  version: number;
  tooling: string;
  statements: VexStatement[];
}
