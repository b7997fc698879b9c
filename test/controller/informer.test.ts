/** The list/watch informer against a scripted client and a fake clock: watchdog, 410 re-list, backoff. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, noJitter } from '../../src/kube/clock.ts';
import type { KubeClient, KubeRequest, WatchEvent, WatchOptions } from '../../src/kube/client.ts';
import { newStats } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { Informer } from '../../src/kube/informer.ts';
import type { InformerEvent } from '../../src/kube/informer.ts';
import { SERVICES } from '../../src/kube/resources.ts';

const svc = (name: string, rv: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', resourceVersion: rv } });

interface OpenWatch {
  query: Record<string, unknown>;
  emit(ev: WatchEvent): void;
  end(): void;
  fail(e: Error): void;
}

class ScriptedClient implements KubeClient {
  readonly server = 'scripted';
  readonly stats = newStats();
  lists: (() => unknown)[] = [];
  watches: OpenWatch[] = [];
  listQueries: KubeRequest[] = [];
  async request(req: KubeRequest): Promise<unknown> {
    this.listQueries.push(req);
    const next = this.lists.shift();
    if (!next) throw new KubeApiError({ status: 0, message: 'no scripted response', verb: req.method, path: req.path });
    return next();
  }
  watch(_path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (ev: WatchEvent) => void, opts: WatchOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      opts.onOpen?.();
      const w: OpenWatch = {
        query,
        emit: (ev) => {
          opts.onActivity?.();
          try {
            onEvent(ev);
          } catch (e) {
            reject(e);
          }
        },
        end: resolve,
        fail: reject,
      };
      opts.signal.addEventListener('abort', () => reject(new KubeApiError({ status: 0, message: 'aborted', verb: 'WATCH', path: _path })), { once: true });
      this.watches.push(w);
    });
  }
  close(): void {}
}

function setup() {
  const clock = new FakeClock();
  const client = new ScriptedClient();
  const events: InformerEvent[] = [];
  const inf = new Informer({
    client,
    type: SERVICES,
    clock,
    jitter: noJitter,
    timing: { watchTimeoutSeconds: 60, stallTimeoutMs: 5_000, backoffBaseMs: 100, backoffMaxMs: 1_000, listTimeoutMs: 1_000, pageSize: 2 },
    onEvent: (e) => events.push(e),
  });
  return { clock, client, events, inf };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('informer', () => {
  it('lists in pages, then watches from the list resourceVersion with bookmarks and a server timeout', { timeout: 300_000 }, async () => {
    const { clock, client, inf } = setup();
    client.lists.push(() => ({ items: [svc('a', '1'), svc('b', '2')], metadata: { resourceVersion: '10', continue: 'next' } }));
    client.lists.push(() => ({ items: [svc('c', '3')], metadata: { resourceVersion: '10' } }));
    inf.start();
    await clock.advance(0);
    assert.equal(inf.synced, true);
    assert.deepEqual(inf.list().map((o) => o.metadata.name), ['a', 'b', 'c']);
    assert.equal(client.listQueries[1]!.query?.continue, 'next');
    assert.equal(client.watches.length, 1);
    assert.deepEqual([client.watches[0]!.query.resourceVersion, client.watches[0]!.query.allowWatchBookmarks, client.watches[0]!.query.timeoutSeconds], ['10', true, 60]);
    await inf.stop();
  });

  it('a silent watch is aborted by the watchdog and resumed from the last resourceVersion; bookmarks keep it alive', { timeout: 300_000 }, async () => {
    const { clock, client, inf } = setup();
    client.lists.push(() => ({ items: [], metadata: { resourceVersion: '10' } }));
    inf.start();
    await clock.advance(0);
    await clock.advance(4_000);
    client.watches[0]!.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });
    await clock.advance(4_000);
    assert.equal(inf.counters.stalls, 0, 'the bookmark reset the watchdog');
    await clock.advance(1_001);
    assert.equal(inf.counters.stalls, 1);
    await clock.advance(0);
    assert.equal(client.watches.length, 2);
    assert.equal(client.watches[1]!.query.resourceVersion, '15');
    assert.equal(inf.counters.lists, 1, 'no re-list for a stall');
    await inf.stop();
  });

  it('410 Gone re-lists and reports what changed meanwhile, deletions included', { timeout: 300_000 }, async () => {
    const { clock, client, events, inf } = setup();
    client.lists.push(() => ({ items: [svc('a', '1'), svc('b', '2')], metadata: { resourceVersion: '10' } }));
    inf.start();
    await clock.advance(0);
    events.length = 0;
    client.lists.push(() => ({ items: [svc('a', '1'), svc('c', '12')], metadata: { resourceVersion: '20' } }));
    client.watches[0]!.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } });
    await clock.advance(0);
    await flush();
    assert.equal(inf.counters.gone, 1);
    assert.deepEqual(events.flatMap((e) => (e.type === 'state' ? [] : [`${e.type} ${e.object.metadata.name}`])), ['upsert c', 'delete b']);
    assert.equal(client.watches[1]!.query.resourceVersion, '20');
    await inf.stop();
  });

  it('failures mark it unhealthy and retry with exponential backoff, forever', { timeout: 300_000 }, async () => {
    const { clock, client, inf } = setup();
    const fail = () => {
      throw new KubeApiError({ status: 500, message: 'boom', verb: 'GET', path: '/api/v1/services' });
    };
    client.lists.push(fail, fail, fail, () => ({ items: [svc('a', '1')], metadata: { resourceVersion: '5' } }));
    inf.start();
    await clock.advance(0);
    assert.equal(inf.healthy, false);
    assert.match(inf.lastError ?? '', /500 boom/);
    assert.equal(client.listQueries.length, 1);
    await clock.advance(100);
    assert.equal(client.listQueries.length, 2);
    await clock.advance(199);
    assert.equal(client.listQueries.length, 2, 'second retry waits 200ms');
    await clock.advance(1);
    await clock.advance(400);
    assert.equal(client.listQueries.length, 4);
    assert.equal(inf.healthy, true);
    assert.equal(inf.synced, true);
    await inf.stop();
  });

  it('our own writes, once observed, do not come back as changes', { timeout: 300_000 }, async () => {
    const { clock, client, events, inf } = setup();
    client.lists.push(() => ({ items: [], metadata: { resourceVersion: '10' } }));
    inf.start();
    await clock.advance(0);
    events.length = 0;
    inf.observe(svc('mine', '11'));
    client.watches[0]!.emit({ type: 'ADDED', object: svc('mine', '11') });
    client.watches[0]!.emit({ type: 'MODIFIED', object: svc('mine', '12') });
    assert.deepEqual(events.map((e) => (e.type === 'state' ? 'state' : `${e.type} ${e.object.metadata.resourceVersion}`)), ['upsert 12']);
    await inf.stop();
  });
});
