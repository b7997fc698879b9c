import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateAddresses, candidateAddress, isIP, isIPv4, isIPv6 } from '../../src/model/address.ts';
import { render } from '../../src/index.ts';
import { failoverService, meshCluster, meshWorkload } from './fixtures.ts';

test('derived addresses are in 240.0.0.0/4, never the first or the broadcast address, and depend on the host only', () => {
  for (let i = 0; i < 2000; i++) {
    const a = candidateAddress(`svc${i}-global.ns.global`, 0);
    const [o1, , , o4] = a.split('.').map(Number) as [number, number, number, number];
    assert.ok(o1 >= 240 && o1 <= 255, a);
    assert.notEqual(a, '240.0.0.0');
    assert.notEqual(a, '255.255.255.255');
    assert.ok(o4 >= 0 && o4 <= 255);
  }
  assert.equal(candidateAddress('a.global', 0), candidateAddress('a.global', 0));
  assert.notEqual(candidateAddress('a.global', 0), candidateAddress('a.global', 1));
});

test('a pinned address wins over a derived one; the displaced service moves deterministically', () => {
  const derived = candidateAddress('x.global', 0);
  const out = allocateAddresses([
    { owner: 'old', host: 'x.global' },
    { owner: 'new', host: 'y.global', pinned: derived },
  ]);
  assert.deepEqual(out[1], { owner: 'new', address: derived });
  const moved = out[0]!;
  assert.ok('address' in moved && moved.address !== derived && moved.moved?.takenBy === 'new');
  assert.deepEqual(allocateAddresses([{ owner: 'old', host: 'x.global' }, { owner: 'new', host: 'y.global', pinned: derived }]), out);
});

test('two pins on one address: the older keeps it, the newer is a conflict', () => {
  const out = allocateAddresses([
    { owner: 'a', host: 'a.global', pinned: '240.9.9.9' },
    { owner: 'b', host: 'b.global', pinned: '240.9.9.9' },
  ]);
  assert.deepEqual(out[0], { owner: 'a', address: '240.9.9.9' });
  assert.deepEqual(out[1], { owner: 'b', conflict: { address: '240.9.9.9', takenBy: 'a' } });
});

test('render reports SPW115 when a derived address is taken by a pin, and still renders both', () => {
  const docs = [meshCluster('c1'), meshCluster('c2'), meshWorkload('a-c1', 'c1', { service: 'a' }), meshWorkload('a-c2', 'c2', { service: 'a' }), meshWorkload('b-c1', 'c1', { service: 'b' }), meshWorkload('b-c2', 'c2', { service: 'b' })];
  const taken = candidateAddress('a-global.default.global', 0);
  docs.push(failoverService('a', ['a-c1', 'a-c2']), failoverService('b', ['b-c1', 'b-c2'], { address: taken }));
  const r = render(docs);
  assert.deepEqual(r.messages.map((m) => [m.code, m.object]), [['SPW115', 'FailoverService/default/a']]);
  const addrs = (r.clusters.c1 ?? []).filter((o) => o.kind === 'ServiceEntry' && o.metadata.name.endsWith('-global')).map((o) => (o.spec as { addresses: string[] }).addresses[0]);
  assert.equal(new Set(addrs).size, 2);
  assert.ok(addrs.includes(taken));
});

test('IP parsing', () => {
  for (const ok of ['1.2.3.4', '255.255.255.255', '0.0.0.0']) assert.ok(isIPv4(ok), ok);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', 'a.b.c.d', '1.2.3.4.5']) assert.ok(!isIPv4(bad), bad);
  for (const ok of ['::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:0:0:0:0:1', '::ffff:192.0.2.1']) assert.ok(isIPv6(ok), ok);
  for (const bad of ['1::2::3', 'gg::1', '2001:db8:0:0:0:0:0:0:1', 'example.com']) assert.ok(!isIPv6(bad), bad);
  assert.ok(!isIP('gw.example.com'));
});
