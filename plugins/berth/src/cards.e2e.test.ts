import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';

const kubeconfig = process.env.BERTH_TEST_KUBECONFIG;
const artifacts = join(__dirname, '..', '..', 'test-results');

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (${last ?? 'no answer'})`);
    await new Promise(r => setTimeout(r, 1000));
  }
}

/**
 * The cards in a real browser against Berth on the local plane with Argo CD and Kyverno: a
 * service deployed by Argo CD, with a real PolicyReport violation (latest tag, audited for
 * the team), rendered in headless Chromium; the screenshot is kept in test-results/.
 * make test-ts provides the plane (hack/with-plane.sh).
 */
describe.skipIf(!kubeconfig)('entity cards in Chromium against Berth on a local plane', () => {
  let berth: RunningBerth;
  let page: Server;
  const team = `shop${Date.now() % 100000}`;

  beforeAll(async () => {
    berth = await startBerth({ args: ['--kubeconfig', kubeconfig!, '--environments', 'dev'], platformAdmins: ['user:default/root'] });
    const jane = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
    const root = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/root') });
    await jane.call('POST', '/api/v1/teams', { name: team });
    await root.call('PUT', '/api/v1/teams/{team}/policies/{policy}', { team, policy: 'disallow-latest-tag', mode: 'audit' });
    await until('the team namespace', 60_000, async () => {
      const envs = await jane.call('GET', '/api/v1/teams/{team}/environments', { team });
      return (envs.body as any).items?.[0]?.phase === 'Ready' ? true : undefined;
    });
    await jane.call('POST', '/api/v1/teams/{team}/services', {
      team, name: 'web', blueprint: 'go-api', image: 'registry.example.com/shop/web', tag: 'latest', parameters: { replicas: 1 }, environments: ['dev'],
    });
    await until('Argo CD synced and healthy', 180_000, async () => {
      const d = await jane.getService(team, 'web');
      const e = d.environments[0];
      return e?.sync === 'Synced' && e?.health === 'Healthy' ? d : undefined;
    });
    await until('a PolicyReport violation', 180_000, async () => {
      const v = await jane.listViolations(team, { service: 'web' });
      return v.total > 0 ? v : undefined;
    });
    // The plane has no metrics-server: the blueprint's autoscaler cannot read CPU, a real finding.
    await until('the diagnosis of the HPA', 120_000, async () => {
      const d = await jane.diagnose(team, 'web');
      return d.environments[0]?.findings.some(f => f.code === 'HPAMetricsUnavailable') ? d : undefined;
    });

    // The page and a stand-in for Backstage's proxy, which forwards the user's token to Berth.
    const bundle = await build({ entryPoints: [join(__dirname, '..', '..', 'testing', 'cards-page.tsx')], bundle: true, write: false, format: 'esm', jsx: 'transform', define: { 'process.env.NODE_ENV': '"production"' } });
    const js = bundle.outputFiles[0].text;
    const target = new URL(berth.url);
    const token = berth.userToken('user:default/jane');
    page = createServer((req, res) => {
      if (req.url?.startsWith('/berth/')) {
        const up = request(
          { host: target.hostname, port: target.port, path: req.url.slice('/berth'.length), method: req.method, headers: { ...req.headers, host: target.host, authorization: `Bearer ${token}` } },
          r => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        req.pipe(up);
        return;
      }
      if (req.url === '/bundle.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        res.end(js);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><html><body style="margin:0"><div id="root"></div><script type="module" src="/bundle.js"></script></body></html>');
    });
    await new Promise<void>(ok => page.listen(0, '127.0.0.1', ok));
  }, 480_000);

  afterAll(async () => {
    await new Promise(ok => (page ? page.close(ok) : ok(undefined)));
    await berth?.stop();
  });

  it('shows environments, Argo CD sync and health, the violation with its fix, the pods and their health', async () => {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const port = (page.address() as AddressInfo).port;
      await tab.goto(`http://127.0.0.1:${port}/?team=${team}&service=web`);
      await tab.waitForSelector('[data-testid=berth-violation]', { timeout: 30_000 });
      await tab.waitForSelector('[data-testid=berth-run]', { timeout: 30_000 });
      const argo = await tab.textContent('[data-testid=berth-argocd]');
      expect(argo).toContain('Synced');
      expect(argo).toContain('Healthy');
      expect(argo).toContain(`${team}-web-dev`);
      const violations = await tab.textContent('[data-testid=berth-violations]');
      expect(violations).toContain('Disallow the latest tag');
      expect(violations).toContain('images must be pinned');
      expect(violations).toContain('Fix: Use an explicit version tag');
      const envs = await tab.textContent('[data-testid=berth-environments]');
      expect(envs).toContain('succeeded');
      expect(envs).toContain('user:default/jane');
      // The Kubernetes card lists the Running pod from Berth's informers; Health says what the
      // autoscaler lacks and how to fix it.
      await tab.waitForSelector('[data-testid=berth-pod]', { timeout: 30_000 });
      const kube = await tab.textContent('[data-testid=berth-kubernetes]');
      expect(kube).toContain('Ready');
      expect(kube).toContain('web: running');
      await tab.waitForSelector('[data-testid=berth-finding]', { timeout: 30_000 });
      const health = await tab.textContent('[data-testid=berth-health]');
      expect(health).toContain('HPAMetricsUnavailable');
      expect(health).toContain('The autoscaler cannot read its metrics');
      expect(health).toContain('Fix: The cluster needs metrics-server');
      mkdirSync(artifacts, { recursive: true });
      const shot = join(artifacts, 'berth-entity-cards.png');
      await tab.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).length).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
