/** The shape of a PatchConfig (copa.sh/v1alpha1) after parsing (config.ts parses and validates it). */

export interface TargetSpec {
  registry?: string;
  tag?: string;
}
export interface TagSpec {
  strategy: 'list' | 'pattern' | 'latest';
  list?: string[];
  pattern?: string;
  maxTags?: number;
  exclude?: string[];
}
export interface ImageSpec {
  name: string;
  image: string;
  tags: TagSpec;
  platforms?: string[];
  target?: TargetSpec;
}
export interface PatchConfig {
  apiVersion: 'copa.sh/v1alpha1';
  kind: 'PatchConfig';
  target?: TargetSpec;
  images: ImageSpec[];
}
