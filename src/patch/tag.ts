import { CopaError } from '../errors.js';
import { parseReference, type ImageReference } from '../oci/reference.js';

/**
 * Copa's tag rules (COPA-BEHAVIOUR §4.1): no `-t` → `<repo>:<sourceTag>-<suffix>`; `-t foo` → `<repo>:foo`;
 * `-t reg/repo:foo` (contains `:` or `@`) → that reference, which must carry a tag.
 */
/** OCI distribution tag grammar */
const TAG = /^[\w][\w.-]{0,127}$/;

export function patchedReference(
  source: ImageReference,
  tag: string | undefined,
  suffix: string,
): ImageReference {
  const repo = { registry: source.registry, repository: source.repository };
  if (tag === undefined || tag === '') {
    if (!source.tag) {
      throw new CopaError('USAGE', `the image reference has no tag to derive the patched tag from`, {
        hint: 'name the patched tag with -t/--tag',
      });
    }
    if (!suffix) throw new CopaError('USAGE', '--tag-suffix must not be empty when --tag is not given');
    const derived = `${source.tag}-${suffix}`;
    if (!TAG.test(derived)) {
      throw new CopaError(
        'USAGE',
        `--tag-suffix ${JSON.stringify(suffix)} makes the tag ${JSON.stringify(derived)}, which is not a valid tag`,
        { hint: 'a suffix may hold letters, digits, _ . and - (the tag is at most 128 characters)' },
      );
    }
    return { ...repo, tag: derived };
  }
  if (tag.includes(':') || tag.includes('@')) {
    const full = parseReference(tag);
    if (!full.tag) {
      throw new CopaError('USAGE', `--tag ${tag} is a full reference without a tag`, {
        hint: 'add a tag, e.g. registry.example.com/repo:1.2-patched',
      });
    }
    return { registry: full.registry, repository: full.repository, tag: full.tag };
  }
  if (!TAG.test(tag)) {
    throw new CopaError('USAGE', `--tag ${JSON.stringify(tag)} is not a valid tag`, {
      hint: 'tags are up to 128 letters, digits, _ . and -, not starting with . or -',
    });
  }
  return { ...repo, tag };
}
