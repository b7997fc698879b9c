/**
 * Virtual IPs for global hosts. Each host's address is derived from the host name alone (FNV-1a into
 * 240.0.0.0/4), so it does not move when other services are added. Services are allocated oldest first:
 * on a hash collision the newer service probes onward, and a pinned address always wins over a derived one.
 * Derived addresses skip 240.240.0.0/16, the range Istio auto-allocates ServiceEntry addresses from (DNS
 * proxying with auto-allocation on): a hash landing there probes onward as on a collision, so every other
 * host keeps the address it always had.
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

/** Istio's auto-allocation range for ServiceEntry addresses (pilot/pkg/serviceregistry/serviceentry/auto_allocation.go). */
const AUTO_ALLOCATED = { base: (240 * 2 ** 24 + 240 * 2 ** 16) >>> 0, size: 2 ** 16 };

/** True for an IPv4 address in 240.240.0.0/16, where Istio may hand the same address to another host. */
export function inIstioAutoAllocationRange(address: string): boolean {
  if (!isIPv4(address)) return false;
  const n = address.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  return n >= AUTO_ALLOCATED.base && n < AUTO_ALLOCATED.base + AUTO_ALLOCATED.size;
}

function rawCandidate(host: string, attempt: number): number {
  const h = fnv1a(attempt === 0 ? host : `${host}#${attempt}`);
  return CLASS_E_BASE + 1 + (h % SPAN);
}

/**
 * The `attempt`-th candidate address for a host (attempt 0 is the host's own), never in Istio's auto-allocation
 * range: candidates that fall there are skipped.
 */
export function candidateAddress(host: string, attempt: number): string {
  let seen = -1;
  for (let raw = 0; ; raw++) {
    const n = rawCandidate(host, raw);
    if (n >= AUTO_ALLOCATED.base && n < AUTO_ALLOCATED.base + AUTO_ALLOCATED.size) continue;
    if (++seen === attempt) return intToIPv4(n);
  }
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
