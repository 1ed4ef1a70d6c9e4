import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';
import { Kube } from '../../testing/kube';
import { servePage, until } from '../../testing/page';
import { startExporter, startPrometheus, type RunningPrometheus } from '../../testing/prometheus';

const kubeconfig = process.env.BERTH_TEST_KUBECONFIG;
const artifacts = join(__dirname, '..', '..', 'test-results');

/** A line as the kubelet writes it (CRI format), timed now. */
const cri = (text: string) => `${new Date().toISOString().replace('Z', '000000Z')} stdout F ${text}\n`;

/**
 * The Logs and Signals cards in a real browser against Berth on the local plane: pods whose
 * logs kwok serves from files this test appends to, one replaced by another mid-stream, the
 * connection cut and resumed, a search, a download; and the four golden signals from a real
 * Prometheus scraping series labelled like those pods; the cost card's figures from Berth's model
 * sampling those pods, and the rightsizing of their container from the same Prometheus; the
 * Sleep schedule card putting a Deployment to sleep, waking it for two hours and handing it back.
 */
describe.skipIf(!kubeconfig)('logs, signals, cost and schedule cards in Chromium against Berth on a local plane', () => {
  let berth: RunningBerth;
  let prom: RunningPrometheus;
  let exporter: Server;
  let page: Server;
  let kube: Kube;
  let ns = '';
  const live = new Set<ServerResponse>();
  const pods: { namespace: string; name: string }[] = [];
  const logs = mkdtempSync(join(tmpdir(), 'berth-day2-'));
  const team = `ops${Date.now() % 100000}`;

  const startPod = async (name: string, lines: string[]) => {
    const file = join(logs, `${name}.log`);
    writeFileSync(file, lines.map(cri).join(''));
    await kube.call('POST', `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${ns}/logs`, {
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: { name },
      spec: { logs: [{ containers: [], logsFile: file, previousLogsFile: file }] },
    });
    await kube.call('POST', `/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/managed-by': 'berth', 'berth.dev/team': team } },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'web', image: 'registry.example.com/ops/web:1.0.0',
          resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          // What the team's guardrails (Kyverno, enforced) ask of every container.
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 } },
        }],
      },
    });
    pods.push({ namespace: ns, name });
    await until(`${name} running`, 60_000, async () => {
      const p = await kube.call('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
      return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
    });
    return file;
  };

  beforeAll(async () => {
    kube = new Kube(kubeconfig!);
    const ex = await startExporter(() => pods);
    exporter = ex.server;
    prom = await startPrometheus(ex.target);
    // dev syncs by hand here, so Argo CD starts no pods of its own: the test's pods are the service's.
    berth = await startBerth({ args: ['--kubeconfig', kubeconfig!, '--environments', 'dev', '--manual-sync-environments', 'dev', '--prometheus-url', prom.url, '--signals-window', '5s', '--cost-sample-every', '1s', '--sleep-check-every', '1s'] });
    const jane = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
    await jane.call('POST', '/api/v1/teams', { name: team });
    await until('the team namespace', 60_000, async () => {
      const envs = await jane.call('GET', '/api/v1/teams/{team}/environments', { team });
      return (envs.body as any).items?.[0]?.phase === 'Ready' ? true : undefined;
    });
    await jane.call('POST', '/api/v1/teams/{team}/services', { team, name: 'web', blueprint: 'go-api', image: 'registry.example.com/ops/web', tag: '1.0.0', environments: ['dev'] });
    ns = (await jane.getWorkloads(team, 'web')).environments[0].namespace;

    const token = berth.userToken('user:default/jane');
    page = await servePage(join(__dirname, '..', '..', 'testing', 'day2-page.tsx'), berth.url, token, (req, res) => {
      if (req.url!.includes('/logs?')) {
        live.add(res);
        res.on('close', () => live.delete(res));
      }
    });
  }, 300_000);

  afterAll(async () => {
    await new Promise(ok => (page ? page.close(ok) : ok(undefined)));
    await berth?.stop();
    await prom?.stop();
    await new Promise(ok => (exporter ? exporter.close(ok) : ok(undefined)));
  });

  const shown = (tab: Page) => tab.$$eval('[data-testid=berth-log-line]', els => els.map(e => e.textContent ?? ''));
  const waitLine = (tab: Page, text: string) =>
    until(`the line "${text}" in the card`, 30_000, async () => ((await shown(tab)).some(l => l.endsWith(text)) ? true : undefined));

  it('follows a replaced pod, resumes a cut stream with every line once, searches, downloads, draws the four signals, and prices the pod', async () => {
    const podA = 'web-5f7d9c8b6-aaaaa';
    const podB = 'web-5f7d9c8b6-bbbbb';
    const fileA = await startPod(podA, ['a started', 'ERROR db timeout', 'a ready']);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
      const port = (page.address() as AddressInfo).port;
      await tab.goto(`http://127.0.0.1:${port}/?team=${team}&service=web`);
      await waitLine(tab, 'a ready');
      appendFileSync(fileA, cri('a request 1'));
      await waitLine(tab, 'a request 1');

      // The pod is replaced: the card says so and follows the new one.
      await kube.call('DELETE', `/api/v1/namespaces/${ns}/pods/${podA}?gracePeriodSeconds=0`);
      pods.splice(0, 1);
      const fileB = await startPod(podB, ['b started', 'ERROR cache miss storm']);
      await waitLine(tab, 'b started');
      const events = await tab.$$eval('[data-testid=berth-log-event]', els => els.map(e => e.textContent ?? ''));
      expect(events.join('\n')).toContain(`pod-gone ${podA}`);
      expect(events.join('\n')).toContain(`pod-added ${podB}`);

      // The connection is cut; what is written meanwhile comes once after the resume.
      for (const r of live) r.destroy();
      appendFileSync(fileB, cri('while cut 1') + cri('while cut 2'));
      await until('the card reconnecting', 30_000, async () =>
        (await tab.$$eval('[data-testid=berth-log-event]', els => els.map(e => e.textContent ?? ''))).some(t => t.includes('resuming')) ? true : undefined,
      );
      await waitLine(tab, 'while cut 2');
      appendFileSync(fileB, cri('after the resume'));
      await waitLine(tab, 'after the resume');
      const all = await shown(tab);
      const counts = new Map<string, number>();
      for (const l of all) counts.set(l, (counts.get(l) ?? 0) + 1);
      expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
      for (const want of ['a started', 'a request 1', 'b started', 'while cut 1', 'while cut 2', 'after the resume']) {
        expect(all.filter(l => l.endsWith(want))).toHaveLength(1);
      }

      // Paused, the card holds new lines back and says how many; resumed, it shows them.
      await tab.click('[data-testid=berth-logs-pause]');
      appendFileSync(fileB, cri('while paused'));
      await until('the held line counted', 30_000, async () => ((await tab.textContent('[data-testid=berth-logs-pause]'))?.includes('1 new') ? true : undefined));
      expect((await shown(tab)).some(l => l.endsWith('while paused'))).toBe(false);
      await tab.click('[data-testid=berth-logs-pause]');
      await waitLine(tab, 'while paused');

      // A search on the server: only the matching lines.
      await tab.fill('[data-testid=berth-logs-search]', 'error');
      await tab.click('[data-testid=berth-logs-apply]');
      await until('only ERROR lines', 30_000, async () => {
        const l = await shown(tab);
        return l.length > 0 && l.every(x => x.includes('ERROR')) ? l : undefined;
      });
      expect((await shown(tab)).some(l => l.endsWith('ERROR cache miss storm'))).toBe(true);

      // Download what the card shows.
      const [download] = await Promise.all([tab.waitForEvent('download'), tab.click('[data-testid=berth-logs-download]')]);
      const saved = join(logs, 'download.txt');
      await download.saveAs(saved);
      const text = readFileSync(saved, 'utf8');
      expect(text).toContain(`${podB}/web`);
      expect(text).toContain('ERROR cache miss storm');
      expect(text).not.toContain('while cut');

      // The four signals, from Prometheus, with a chart once it holds some history.
      await until('the signals with a chart', 120_000, async () => {
        await tab.reload();
        await tab.waitForSelector('[data-testid=berth-signal]', { timeout: 20_000 });
        const rows = await tab.$$eval('[data-testid=berth-signal]', els => els.map(e => e.textContent ?? ''));
        const charts = await tab.$$('[data-testid=berth-signal-chart]');
        return rows.length === 7 && charts.length === 7 && rows.every(r => !r.includes('no data')) ? rows : undefined;
      });
      const signals = await tab.textContent('[data-testid=berth-signals]');
      expect(signals).toMatch(/Traffic\s*(9\.\d\d|10\.00|10) req\/s/);
      expect(signals).toMatch(/Errors\s*(9\.\d\d|10\.\d\d) %/);
      expect(signals).toContain('Latency p50200 ms');
      expect(signals).toContain('requested 0.250 cores · limit 0.500 cores');
      // The cost card: Berth's model has sampled the running pod every second; its figures are
      // the core-hours and GiB-hours it shows at OpenCost's default prices, and a pod of 250m
      // and 128 MiB bills about half a GiB-hour per core-hour.
      const line = await until('the cost of dev', 60_000, async () => {
        await tab.reload();
        const el = await tab.waitForSelector('[data-testid=berth-cost-line][data-environment=dev]', { timeout: 20_000 });
        const [cost, core, gib] = await Promise.all(['data-cost', 'data-core-hours', 'data-gib-hours'].map(a => el.getAttribute(a).then(Number)));
        return cost > 0 ? { cost, core, gib } : undefined;
      });
      // Billed is the larger of request and usage: memory (100 MiB used) bills its request; CPU,
      // used at about its request, bills a rate that may read a little above it.
      expect(line.gib).toBeLessThanOrEqual(line.core * 0.5 + 1e-12);
      expect(line.gib).toBeGreaterThan(line.core * 0.5 * 0.95);
      expect(line.cost).toBeCloseTo(line.core * 0.031611 + line.gib * 0.004237, 12);
      expect(await tab.$$('[data-testid=berth-cost-chart] rect')).toHaveLength(1);
      // Rightsizing from the last hour: it uses about 0.25 cores and 100 MiB of the 250m and 128 MiB it asks.
      await tab.selectOption('[data-testid=berth-rightsizing-window]', '1');
      const row = await until('a rightsizing of web', 60_000, async () => {
        const el = await tab.$('[data-testid=berth-rightsizing-row][data-container=web]');
        return el && (await el.getAttribute('data-state')) !== 'no-usage' ? el : undefined;
      });
      // The pod's series are young, and a rate over a window the series does not fill reads low
      // (Prometheus extrapolates at most half a scrape before its first sample), so the p95 can
      // read below 0.25: the proposal follows what it read (the sizing itself is worked by hand
      // in Go), and memory, a gauge, is exact.
      const [used, cpu, savings] = await Promise.all(['data-used-cpu', 'data-cpu', 'data-savings'].map(a => row.getAttribute(a).then(Number)));
      expect(used).toBeGreaterThan(0.15);
      expect(used).toBeLessThan(0.3);
      expect(cpu).toBeCloseTo(Math.ceil(used / 0.65 / 0.005 - 1e-9) * 0.005, 9);
      expect(Number(await row.getAttribute('data-memory'))).toBe(154 * 1024 * 1024);
      expect(await row.getAttribute('data-state')).toBe(savings < 0 ? 'under-provisioned' : 'over-provisioned');
      expect(await row.textContent()).toMatch(/250m → \d+m, 128 MiB → 154 MiB.*(saves|costs) \$\d\.\d\d/);

      // After all those reloads the logs card still streams: each closed page gave its stream back.
      await tab.waitForSelector('[data-testid=berth-log-line]', { timeout: 30_000 });
      expect(await tab.$('[data-testid=berth-logs] [role=alert]')).toBeNull();
      mkdirSync(artifacts, { recursive: true });
      const shot = join(artifacts, 'berth-logs-signals-cost.png');
      await tab.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).length).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 240_000);

  it('sleeps dev by its schedule, shows what that saves, wakes it for two hours from the card and hands it back', async () => {
    const labels = { 'app.kubernetes.io/name': 'worker', 'berth.dev/team': team };
    await kube.call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'worker', labels },
      spec: {
        replicas: 2, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name: 'worker', image: 'registry.example.com/ops/worker:1.0.0',
              resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
              livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 } },
            }],
          },
        },
      },
    });
    const replicas = async () => (await kube.call('GET', `/apis/apps/v1/namespaces/${ns}/deployments/worker`)).spec.replicas as number;
    // Awake only an hour on a day three days from now: asleep now.
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][(new Date().getUTCDay() + 3) % 7];
    const jane = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
    await jane.call('PUT', '/api/v1/teams/{team}/environments/{environment}/schedule', {
      team, environment: 'dev', timeZone: 'UTC', awake: [{ days: [day], from: '00:00', to: '01:00' }],
    });
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await tab.goto(`http://127.0.0.1:${(page.address() as AddressInfo).port}/?team=${team}&service=web`);
      const row = '[data-testid=berth-schedule][data-environment=dev]';
      // The card looks again by itself while dev is not yet what its schedule wants.
      await tab.waitForSelector(`${row}[data-state=asleep]`, { timeout: 60_000 });
      expect(await replicas()).toBe(0);
      // Two replicas of 250m and 128 MiB, at OpenCost's default prices, for each hour asleep.
      const savings = await tab.waitForSelector(`${row} [data-testid=berth-schedule-savings]`);
      const [perHour, hours, ahead] = await Promise.all(['data-per-hour', 'data-asleep-hours', 'data-next-30-days'].map(a => savings.getAttribute(a).then(Number)));
      expect(perHour).toBeCloseTo(2 * (0.25 * 0.031611 + 0.125 * 0.004237), 12);
      expect(hours).toBeGreaterThan(30 * 24 - 6);
      expect(ahead).toBeCloseTo(perHour * hours, 9);
      expect(await savings.textContent()).toMatch(/saves about \$\d+\.\d\d in the next 30 days/);

      await tab.click(`${row} [data-testid=berth-schedule-wake]`);
      await tab.waitForSelector(`${row} [data-testid=berth-schedule-override]`);
      await tab.waitForSelector(`${row}[data-state=awake]`, { timeout: 60_000 });
      expect(await replicas()).toBe(2);
      expect(await tab.textContent(`${row} [data-testid=berth-schedule-override]`)).toMatch(/^awake until/);

      await tab.click(`${row} [data-testid=berth-schedule-resume]`);
      await tab.waitForSelector(`${row}[data-state=asleep]`, { timeout: 60_000 });
      expect(await replicas()).toBe(0);
      expect(await tab.$(`${row} [data-testid=berth-schedule-override]`)).toBeNull();
      expect(await tab.$(`${row} [role=alert]`)).toBeNull();
      mkdirSync(artifacts, { recursive: true });
      await tab.screenshot({ path: join(artifacts, 'berth-schedule.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 180_000);
});
