/**
 * A request's timeout is reported as a timeout wherever it strikes: before the response, or while its body is still
 * arriving (a large list page from a loaded server). Node reports the latter as a bare "aborted"; callers that treat a
 * starved server differently from a failing one (first-sync grace, backoff) need to know it was our own timeout.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { kubeconfigYaml } from '../double/kubeconfig.ts';

describe('HTTP client timeouts', { timeout: 30_000 }, () => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/v1/configmaps') && req.url.includes('stall=body')) {
      // Headers and the start of a list, then nothing.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[');
      return;
    }
    if (req.url?.includes('stall=headers')) return; // no answer at all
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[]}');
  });
  let client: HttpKubeClient;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    client = new HttpKubeClient(kubeConfigFromText(kubeconfigYaml({ name: 't', server: `http://127.0.0.1:${port}`, namespace: 'default' })), { timeoutMs: 5_000 });
  });
  after(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function failure(query: Record<string, string>): Promise<KubeApiError> {
    try {
      await client.request({ method: 'GET', path: '/api/v1/configmaps', query, timeoutMs: 300 });
    } catch (e) {
      assert.ok(e instanceof KubeApiError, String(e));
      return e;
    }
    assert.fail('the request should have failed');
  }

  it('answers a complete response (the server under test works)', async () => {
    const list = (await client.request({ method: 'GET', path: '/api/v1/configmaps', timeoutMs: 300 })) as { items: unknown[] };
    assert.deepEqual(list.items, []);
  });

  it('a timeout before any response is a timeout', async () => {
    const e = await failure({ stall: 'headers' });
    assert.equal(e.timedOut, true);
    assert.match(e.message, /timed out after 300ms/);
  });

  it('a timeout while the body arrives is a timeout too, with how much was read, not "aborted"', async () => {
    const e = await failure({ stall: 'body' });
    assert.equal(e.timedOut, true, e.message);
    assert.match(e.message, /timed out after 300ms \(\d+ bytes of the response read\)/);
    assert.doesNotMatch(e.message, /^aborted/);
  });
});
