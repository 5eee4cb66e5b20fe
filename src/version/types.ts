/**
 * A version scheme of one package ecosystem (Debian, RPM, APK, ...). Each implementation is tested
 * against the ecosystem's own tool.
 */
export interface VersionScheme {
  /** Short name used in messages, e.g. "deb". */
  name: string;
  /** True when `v` is a well-formed version of this scheme. */
  isValid(v: string): boolean;
  /**
   * Negative when a < b, zero when they are equal under the scheme's rules, positive when a > b.
   * Only the sign is meaningful. Throws a CopaError for strings the scheme cannot compare at all.
   */
  compare(a: string, b: string): number;
}
