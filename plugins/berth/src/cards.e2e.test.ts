import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';
import { Kube } from '../../testing/kube';
import { servePage, until } from '../../testing/page';

const kubeconfig = process.env.BERTH_TEST_KUBECONFIG;
const artifacts = join(__dirname, '..', '..', 'test-results');

/**
 * The cards in a real browser against Berth on the local plane with Argo CD and Kyverno: a
 * service deployed by Argo CD, with a real PolicyReport violation (latest tag, audited for
 * the team), rendered in headless Chromium; the screenshot is kept in test-results/.
 * make test-ts provides the plane (hack/with-plane.sh).
 */
describe.skipIf(!kubeconfig)('entity cards in Chromium against Berth on a local plane', () => {
  let berth: RunningBerth;
  let page: Server;
  let kube: Kube;
  let ns = '';
  let pod = '';
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
    // A failing cause as the kubelet reports it: the pod's container crash-loops (its status
    // through the status subresource) and its previous run's log (kwok serves it from a file)
    // ends with the error the Health card must show.
    kube = new Kube(kubeconfig!);
    const w = await jane.getWorkloads(team, 'web');
    ns = w.environments[0].namespace;
    pod = w.environments[0].pods[0].name;
    const logs = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
    writeFileSync(join(logs, 'previous.log'), [
      '2026-12-03T10:00:00.000000000Z stdout F web 1.0.0 listening on :8080',
      '2026-12-03T10:00:01.000000000Z stderr F panic: runtime error: invalid memory address or nil pointer dereference',
      '2026-12-03T10:00:01.000000000Z stderr F goroutine 1 [running]:',
      '',
    ].join('\n'));
    await kube.call('POST', `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${ns}/logs`, {
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: { name: pod },
      spec: { logs: [{ containers: [], logsFile: join(logs, 'previous.log'), previousLogsFile: join(logs, 'previous.log') }] },
    });
    const live = await kube.call('GET', `/api/v1/namespaces/${ns}/pods/${pod}`);
    const at = new Date(Date.now() - 60_000).toISOString();
    live.status.containerStatuses = live.spec.containers.map((c: any) => ({
      name: c.name, image: c.image, imageID: '', ready: false, restartCount: 5,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
      lastState: { terminated: { exitCode: 2, reason: 'Error', startedAt: at, finishedAt: at } },
    }));
    live.status.conditions = (live.status.conditions ?? []).map((c: any) =>
      c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'ContainersNotReady', lastTransitionTime: at } : c,
    );
    await kube.call('PUT', `/api/v1/namespaces/${ns}/pods/${pod}/status`, live);
    await until('the crash loop with its log in the diagnosis', 60_000, async () => {
      const d = await jane.diagnose(team, 'web');
      return d.environments[0]?.findings.some(f => f.code === 'CrashLoopBackOff' && f.evidence.some(e => e.lines?.length)) ? d : undefined;
    });

    // The page and a stand-in for Backstage's proxy, which forwards the user's token to Berth.
    const token = berth.userToken('user:default/jane');
    page = await servePage(join(__dirname, '..', '..', 'testing', 'cards-page.tsx'), berth.url, token);
  }, 480_000);

  afterAll(async () => {
    await new Promise(ok => (page ? page.close(ok) : ok(undefined)));
    await berth?.stop();
  });

  it('shows environments, Argo CD sync and health, the violation with its fix, the pods, and why one crash-loops until it recovers', async () => {
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
      // Argo CD sees the crash loop too: the Deployment's pod is not ready, so it is
      // Progressing (Degraded only after the progress deadline, minutes away).
      expect(argo).toContain('Synced');
      expect(argo).toContain('Progressing');
      expect(argo).toContain(`${team}-web-dev`);
      const violations = await tab.textContent('[data-testid=berth-violations]');
      expect(violations).toContain('Disallow the latest tag');
      expect(violations).toContain('images must be pinned');
      expect(violations).toContain('Fix: Use an explicit version tag');
      const envs = await tab.textContent('[data-testid=berth-environments]');
      expect(envs).toContain('succeeded');
      expect(envs).toContain('user:default/jane');
      // The Kubernetes card lists the pod from Berth's informers, crash-looping; Health says
      // why, with the last lines of its previous run, and what the autoscaler lacks.
      await tab.waitForSelector('[data-testid=berth-pod]', { timeout: 30_000 });
      const kubeCard = await tab.textContent('[data-testid=berth-kubernetes]');
      expect(kubeCard).toContain('web: waiting (CrashLoopBackOff) · last Error exit 2');
      await tab.waitForSelector('[data-testid=berth-log-lines]', { timeout: 30_000 });
      const health = await tab.textContent('[data-testid=berth-health]');
      expect(health).toContain('CrashLoopBackOff');
      expect(health).toContain('exits with code 2');
      expect(health).toContain('Its log ends with: panic: runtime error: invalid memory address or nil pointer dereference');
      expect(await tab.textContent('[data-testid=berth-log-lines]')).toContain('web 1.0.0 listening on :8080');
      expect(health).toContain('HPAMetricsUnavailable');
      expect(health).toContain('The autoscaler cannot read its metrics');
      expect(health).toContain('Fix: The cluster needs metrics-server');
      mkdirSync(artifacts, { recursive: true });
      const shot = join(artifacts, 'berth-entity-cards.png');
      await tab.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).length).toBeGreaterThan(10_000);

      // The container recovers: Berth's record lists the crash loop as resolved, not current.
      const live = await kube.call('GET', `/api/v1/namespaces/${ns}/pods/${pod}`);
      const now = new Date().toISOString();
      live.status.containerStatuses = live.spec.containers.map((c: any) => ({
        name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 5, state: { running: { startedAt: now } },
      }));
      live.status.conditions = live.status.conditions.map((c: any) =>
        c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'True', reason: undefined, lastTransitionTime: now } : c,
      );
      await kube.call('PUT', `/api/v1/namespaces/${ns}/pods/${pod}/status`, live);
      const jane = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
      await until('the crash loop resolved in the record', 60_000, async () => {
        const d = await jane.diagnose(team, 'web');
        const e = d.environments[0];
        if (!e.findings.some(f => f.code === 'CrashLoopBackOff') && e.resolved?.some(r => r.code === 'CrashLoopBackOff')) return d;
        throw new Error(JSON.stringify({ findings: e.findings.map(f => f.code), resolved: e.resolved }));
      });
      await tab.reload();
      await tab.waitForSelector('[data-testid=berth-resolved]', { timeout: 30_000 });
      expect(await tab.textContent('[data-testid=berth-resolved]')).toContain('CrashLoopBackOff');
      expect(await tab.textContent('[data-testid=berth-health]')).not.toContain('Its log ends with');
    } finally {
      await browser.close();
    }
  }, 150_000);
});
