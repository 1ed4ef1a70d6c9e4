/**
 * Berth's packages as a platform team installs them: packed (`npm pack`, which builds them with
 * @backstage/cli), each tarball checked to ship dist and no sources or tests, installed into a
 * fresh folder outside this workspace beside Backstage's own backend plugins (testing/backstage-app,
 * one `backend.add` line per module), and that backend started against the real Berth with
 * PostgreSQL as its database. Backstage's guest sign-in issues the user token; Berth verifies it
 * with Backstage's own JWKS. The scaffolder lists Berth's actions, the team template runs
 * through the scaffolder's task API to a team in Berth, the catalog holds it after the
 * provider's round, and a service template runs to a service. The frontend plugin, installed
 * in the same app, is bundled from there and its cards render in headless Chromium.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { freePort, startBerth, type RunningBerth } from './berth';
import { servePage, until } from './page';

const run = promisify(execFile);
const databaseUrl = process.env.BERTH_TEST_DATABASE_URL;
const plugins = resolve(__dirname, '..');
const repo = resolve(plugins, '..');

/** The file list of a tarball. */
async function contents(tgz: string): Promise<string[]> {
  const { stdout } = await run('tar', ['tzf', tgz]);
  return stdout.split('\n').filter(Boolean);
}

describe.skipIf(!databaseUrl)('the packed packages in a Backstage backend outside the workspace', () => {
  const work = mkdtempSync(join(tmpdir(), 'berth-install-'));
  const packs = join(work, 'packs');
  const app = join(work, 'app');
  let tarballs: string[] = [];
  let berth: RunningBerth;
  let backstage: ChildProcess | undefined;
  let out = '';
  let base = '';
  let database = '';
  let token = '';

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  /** Runs a template through the scaffolder's task API and waits for it to end. */
  const scaffold = async (templateRef: string, values: Record<string, unknown>) => {
    // The catalog reads the templates' file locations in its own time.
    const [kind, name] = templateRef.replace(':default/', ' ').split(' ');
    await until(`${templateRef} in the catalog`, 60_000, async () =>
      (await call('GET', `/api/catalog/entities/by-name/${kind}/default/${name}`)).status === 200 ? true : undefined,
    );
    const created = await call('POST', '/api/scaffolder/v2/tasks', { templateRef, values });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const task = await until(`the task of ${templateRef}`, 120_000, async () => {
      const t = await call('GET', `/api/scaffolder/v2/tasks/${created.body.id}`);
      return ['completed', 'failed', 'cancelled'].includes(t.body?.status) ? t.body : undefined;
    });
    if (task.status !== 'completed') {
      const events = await call('GET', `/api/scaffolder/v2/tasks/${created.body.id}/events`);
      throw new Error(`${templateRef}: ${task.status}: ${JSON.stringify(events.body?.map((e: any) => e.body?.message))}\n${out.slice(-4000)}`);
    }
    return task;
  };

  beforeAll(async () => {
    // Packed as `npm publish` would: prepack (backstage-cli package prepack) points the
    // manifest at dist, postpack puts it back.
    mkdirSync(packs, { recursive: true });
    await run('npm', ['pack', '--silent', '--workspaces', '--pack-destination', packs], { cwd: plugins, maxBuffer: 1 << 24 });
    tarballs = readdirSync(packs).map(f => join(packs, f));

    // A Backstage backend of its own: Backstage's plugins from the registry, Berth's from the tarballs.
    mkdirSync(app, { recursive: true });
    // Pinned to the workspace's release line, as `backstage-cli versions:bump` would pin an app.
    const manifest = JSON.parse(readFileSync(join(__dirname, 'backstage-app', 'package.json'), 'utf8'));
    manifest.overrides = JSON.parse(readFileSync(join(plugins, 'package.json'), 'utf8')).overrides;
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    copyFileSync(join(__dirname, 'backstage-app', 'index.js'), join(app, 'index.js'));
    copyFileSync(join(__dirname, 'backstage-app', 'page.jsx'), join(app, 'page.jsx'));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--fetch-retries=6', ...tarballs], { cwd: app, maxBuffer: 1 << 26 });

    // Its own database on the test's PostgreSQL server.
    const pg = createRequire(join(app, 'index.js'))('pg');
    database = `backstage_${Date.now()}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(databaseUrl!);
    url.pathname = `/${database}`;

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Berth trusts the user tokens Backstage's auth backend signs, and the guest is its admin.
    berth = await startBerth({
      platformAdmins: ['user:development/guest'],
      args: ['--backstage-jwks-url', `${base}/api/auth/.well-known/jwks.json`, '--backstage-issuer', `${base}/api/auth`],
    });
    writeFileSync(join(app, 'app-config.yaml'), `
app:
  baseUrl: ${base}
backend:
  baseUrl: ${base}
  listen: { host: 127.0.0.1, port: ${port} }
  database:
    client: pg
    connection: ${url.toString()}
    pluginDivisionMode: schema
auth:
  environment: development
  providers:
    guest: {}
catalog:
  rules:
    - allow: [Template, Group, User, Component, System, Resource, Location, API, Domain]
  locations:
    - type: file
      target: ${join(repo, 'catalog', 'templates', 'team.yaml')}
    - type: file
      target: ${join(repo, 'catalog', 'templates', 'worker.yaml')}
berth:
  baseUrl: ${berth.url}
  token: ${berth.serviceToken}
  catalog:
    schedule: { frequency: { seconds: 2 }, timeout: { seconds: 30 }, initialDelay: { seconds: 1 } }
`);
    backstage = spawn('node', ['index.js', '--config', 'app-config.yaml'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'development' } });
    backstage.stdout!.on('data', d => (out += d));
    backstage.stderr!.on('data', d => (out += d));
    await until('Backstage ready', 120_000, async () => {
      if (backstage!.exitCode !== null) throw new Error(`the backend exited with ${backstage!.exitCode}:\n${out}`);
      try {
        const r = await fetch(`${base}/.backstage/health/v1/readiness`);
        return r.ok ? true : undefined;
      } catch {
        return undefined;
      }
    });
    // Signed in as Backstage's guest: a user token from Backstage's own keys.
    const session = await fetch(`${base}/api/auth/guest/refresh`, { headers: { 'X-Requested-With': 'XMLHttpRequest' } });
    expect(session.status).toBe(200);
    token = (await session.json()).backstageIdentity.token;
  }, 600_000);

  afterAll(async () => {
    if (backstage && backstage.exitCode === null) {
      backstage.kill('SIGTERM');
      await new Promise(ok => backstage!.once('exit', ok));
    }
    await berth?.stop();
    if (database) {
      const pg = createRequire(join(app, 'index.js'))('pg');
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('ships dist and nothing else of the sources', async () => {
    expect(tarballs.map(t => t.replace(/.*\//, '')).sort()).toEqual([
      'berth-platform-backstage-plugin-berth-0.1.0.tgz',
      'berth-platform-backstage-plugin-berth-common-0.1.0.tgz',
      'berth-platform-backstage-plugin-catalog-backend-module-berth-0.1.0.tgz',
      'berth-platform-backstage-plugin-scaffolder-backend-module-berth-0.1.0.tgz',
    ]);
    for (const t of tarballs) {
      const files = await contents(t);
      expect(files.filter(f => f !== 'package/package.json' && !f.startsWith('package/dist/')), t).toEqual([]);
      expect(files.filter(f => /\.test\.|\.tsx?$/.test(f) && !f.endsWith('.d.ts')), t).toEqual([]);
      expect(files, t).toContain('package/dist/index.d.ts');
      const { stdout } = await run('tar', ['xzf', t, '-O', 'package/package.json']);
      const manifest = JSON.parse(stdout);
      expect(manifest.main, t).toMatch(/^dist\/index\.(cjs|esm)\.js$/);
      expect(files, t).toContain(`package/${manifest.main}`);
      expect(manifest.types).toBe('dist/index.d.ts');
    }
  });

  it("lists Berth's actions, runs the team and service templates, and the catalog holds what Berth has", async () => {
    const actions = await call('GET', '/api/scaffolder/v2/actions');
    expect(actions.status).toBe(200);
    const ids = (actions.body as { id: string }[]).map(a => a.id);
    for (const id of ['berth:team:create', 'berth:service:create', 'berth:service:app-files', 'berth:environment:schedule']) {
      expect(ids).toContain(id);
    }

    const team = `bs${Date.now() % 100000}`;
    await scaffold('template:default/berth-team', { name: team, displayName: 'Through Backstage' });
    const made = await fetch(`${berth.url}/api/v1/teams/${team}`, { headers: { Authorization: `Bearer ${berth.serviceToken}` } });
    expect(made.status).toBe(200);
    expect((await made.json()).displayName).toBe('Through Backstage');

    // The provider's next round brings the team into the catalog.
    await until(`group:default/${team} in the catalog`, 60_000, async () => {
      const g = await call('GET', `/api/catalog/entities/by-name/group/default/${team}`);
      return g.status === 200 ? g.body : undefined;
    });

    await scaffold('template:default/berth-worker', {
      name: 'queue', owner: `group:default/${team}`, image: 'registry.example.com/bs/queue', tag: '1.0.0', environments: ['dev'],
    });
    const service = await fetch(`${berth.url}/api/v1/teams/${team}/services/queue`, { headers: { Authorization: `Bearer ${berth.serviceToken}` } });
    expect(service.status).toBe(200);
    expect((await service.json()).service.blueprint).toBe('worker');
    await until('the service in the catalog', 60_000, async () => {
      const c = await call('GET', '/api/catalog/entities?filter=kind=component');
      const a = (e: any) => e.metadata.annotations ?? {};
      return c.status === 200 && c.body.some((e: any) => a(e)['berth.dev/team'] === team && a(e)['berth.dev/service'] === 'queue') ? true : undefined;
    });
  }, 300_000);

  it("renders the installed frontend plugin's cards in Chromium against the same Berth", async () => {
    // The team and service the templates made above.
    const teams = await fetch(`${berth.url}/api/v1/teams`, { headers: { Authorization: `Bearer ${berth.serviceToken}` } });
    const team = ((await teams.json()).items as { name: string }[]).map(t => t.name).find(n => n.startsWith('bs'))!;
    // Bundled from the app's folder (the plugin and its dependencies resolve from the tarballs'
    // install); the proxy passes on the guest's Backstage token, as Backstage's proxy does.
    const page = await servePage(join(app, 'page.jsx'), berth.url, token);
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', e => errors.push(String(e)));
      await tab.goto(`http://127.0.0.1:${(page.address() as AddressInfo).port}/?team=${team}&service=queue`);
      await tab.waitForSelector('[data-testid=card-environments] table', { timeout: 30_000 }).catch(async e => {
        throw new Error(`${e}\npage: ${await tab.textContent('body')}\nerrors: ${errors.join('\n')}`);
      });
      expect(await tab.textContent('[data-testid=card-environments]')).toContain('dev');
      const row = await tab.waitForSelector('[data-testid=card-schedule] [data-testid=berth-schedule][data-environment=dev]', { timeout: 30_000 });
      expect(await row.getAttribute('data-state')).toBe('unscheduled');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await new Promise(ok => page.close(ok));
    }
  }, 120_000);
});
