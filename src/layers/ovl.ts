/**
 * overlayfs' own extended attributes. As root they are `trusted.overlay.*`; inside a user namespace (rootless
 * runs, see src/engine/native/userns.ts) trusted.* cannot be written, so overlays are mounted with
 * `userxattr` and the same markers are `user.overlay.*`. Layers from images never carry either.
 */
export type OvlName = 'opaque' | 'redirect' | 'metacopy';

/** Set in the environment of a copa process re-executed inside a user namespace. */
export function inUserNamespace(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.COPA_USERNS === '1';
}

export function ovlXattr(name: OvlName): string {
  return `${inUserNamespace() ? 'user' : 'trusted'}.overlay.${name}`;
}

export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** The layer cache's directory for this mode: extracted trees differ in their markers (see above). */
export function layersDirName(): string {
  return inUserNamespace() ? 'layers-userns' : 'layers';
}
