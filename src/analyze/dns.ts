/** DNS-1123 rules as Kubernetes applies them. */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Labels as LABEL, joined by dots: a valid subdomain when it also fits the length limits. */
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dns1123LabelError(s: string): string | undefined {
  if (s.length > 63) return `"${s}" is longer than 63 characters`;
  if (!LABEL.test(s)) return `"${s}" must consist of lower-case alphanumerics or '-', and start and end with an alphanumeric`;
  return undefined;
}

export function dns1123SubdomainError(s: string): string | undefined {
  // No label of a name this short can pass 63 characters: one test, no split (it runs for every name of the input).
  if (s.length <= 63 && SUBDOMAIN.test(s)) return undefined;
  if (s.length > 253) return `"${s}" is longer than 253 characters`;
  for (const part of s.split('.')) {
    if (part.length > 63) return `"${s}" has a label longer than 63 characters ("${part.slice(0, 20)}...")`;
    if (!LABEL.test(part)) return `"${s}" must be lower-case alphanumerics, '-' and '.', each label starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** Problems with `--host-suffix` values: each a DNS subdomain without a leading dot (`global`, `mesh.example.com`). */
export function hostSuffixErrors(suffixes: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of suffixes) {
    const e = dns1123SubdomainError(s);
    if (e) out.push(`--host-suffix ${e}`);
  }
  return out;
}
