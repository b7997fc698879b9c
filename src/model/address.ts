/**
 * Virtual IPs for global hosts. Each host's address is derived from the host name alone (FNV-1a into
 * 240.0.0.0/4), so it does not move when other services are added. Services are allocated oldest first:
 * on a hash collision the newer service probes onward, and a pinned address always wins over a derived one.
 */

const CLASS_E_BASE = 240 * 2 ** 24;
/** Usable addresses: 240.0.0.1 .. 255.255.255.254 (skip the first and the broadcast address). */
const SPAN = 2 ** 28 - 2;

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function intToIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The `attempt`-th candidate address for a host (attempt 0 is the host's own). */
export function candidateAddress(host: string, attempt: number): string {
  const h = fnv1a(attempt === 0 ? host : `${host}#${attempt}`);
  return intToIPv4(CLASS_E_BASE + 1 + (h % SPAN));
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = s.split(':').filter((g) => g !== '');
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g) && !isIPv4(g))) return false;
  return dbl.length === 2 ? groups.length < 8 : groups.length === 8;
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

export interface AddressRequest {
  /** Key of the requester (the FailoverService reference). */
  owner: string;
  host: string;
  pinned?: string;
  /** `candidateAddress(host, 0)`, when the caller has it already. */
  derived?: string;
}

export type AddressOutcome =
  | { owner: string; address: string; moved?: { from: string; takenBy: string } }
  | { owner: string; conflict: { address: string; takenBy: string } };

/**
 * Allocates addresses for requests given oldest first. Pinned addresses are reserved before any derived one,
 * so a pin never loses to a derived address; two pins on one address: the older keeps it.
 */
export function allocateAddresses(requests: readonly AddressRequest[]): AddressOutcome[] {
  const taken = new Map<string, string>();
  const out = new Map<string, AddressOutcome>();
  for (const r of requests) {
    if (r.pinned === undefined) continue;
    const holder = taken.get(r.pinned);
    if (holder !== undefined) out.set(r.owner, { owner: r.owner, conflict: { address: r.pinned, takenBy: holder } });
    else {
      taken.set(r.pinned, r.owner);
      out.set(r.owner, { owner: r.owner, address: r.pinned });
    }
  }
  for (const r of requests) {
    if (r.pinned !== undefined) continue;
    const first = r.derived ?? candidateAddress(r.host, 0);
    let address = first;
    for (let attempt = 1; taken.has(address); attempt++) address = candidateAddress(r.host, attempt);
    taken.set(address, r.owner);
    out.set(r.owner, address === first ? { owner: r.owner, address } : { owner: r.owner, address, moved: { from: first, takenBy: taken.get(first) ?? '' } });
  }
  return requests.map((r) => out.get(r.owner) as AddressOutcome);
}
