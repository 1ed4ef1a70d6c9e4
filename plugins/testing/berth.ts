/**
 * Test support: runs the real Berth binary on 127.0.0.1 with SQLite in a temporary folder,
 * and a JWKS server so that tests can sign Backstage user tokens the way Backstage does
 * (ES256, sub and ent claims) and Berth verifies them like any other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface RunningBerth {
  /** http://127.0.0.1:<port> */
  url: string;
  /** A service token of `service:backstage`, a platform admin (what the modules are configured with). */
  serviceToken: string;
  /** A Backstage user token for sub (user:default/jane), member of groups. */
  userToken(sub: string, groups?: string[]): string;
  /** Everything Berth printed, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface BerthOptions {
  /** Extra `berth serve` flags. */
  args?: string[];
  /** Subjects that administer Berth besides service:backstage. */
  platformAdmins?: string[];
}

/** The binary `make build` writes; BERTH_BIN overrides it. */
export function berthBinary(): string {
  return process.env.BERTH_BIN ?? resolve(__dirname, '..', '..', 'bin', 'berth');
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = netServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

function signJWT(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const head = b64url(JSON.stringify({ alg: 'ES256', kid, typ: 'vnd.backstage.user' }));
  const body = b64url(JSON.stringify(claims));
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${b64url(sig)}`;
}

export async function startBerth(o: BerthOptions = {}): Promise<RunningBerth> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] });
  const jwksServer: Server = createServer((req, res) => {
    res.writeHead(req.url === '/jwks.json' ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(req.url === '/jwks.json' ? jwks : '{}');
  });
  await new Promise<void>(ok => jwksServer.listen(0, '127.0.0.1', ok));
  const issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'berth-ts-'));
  const port = await freePort();
  const serviceToken = randomBytes(24).toString('hex');
  const args = [
    'serve',
    '--addr', `127.0.0.1:${port}`,
    '--data-dir', dir,
    '--log-format', 'text',
    '--service-tokens', `backstage=${serviceToken}`,
    '--platform-admins', ['service:backstage', ...(o.platformAdmins ?? [])].join(','),
    '--backstage-jwks-url', `${issuer}/jwks.json`,
    '--backstage-issuer', issuer,
    // Services may ask for databases: as Crossplane claims, which need no database server here.
    '--service-databases', 'crossplane',
    ...(o.args ?? []),
  ];
  const child: ChildProcess = spawn(berthBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BERTH_DATABASE_URL: '' } });
  let out = '';
  child.stdout!.on('data', d => (out += d));
  child.stderr!.on('data', d => (out += d));
  const exited = new Promise<number | null>(ok => child.once('exit', code => ok(code)));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise(ok => jwksServer.close(ok));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`berth exited with ${child.exitCode}:\n${out}`);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`berth did not become ready on ${url}:\n${out}`);
    }
    await new Promise(r => setTimeout(r, 100));
  }
  return {
    url,
    serviceToken,
    userToken: (sub, groups = []) => {
      const now = Math.floor(Date.now() / 1000);
      return signJWT(privateKey, kid, { iss: issuer, aud: 'backstage', sub, ent: [sub, ...groups], iat: now, exp: now + 3600 });
    },
    logs: () => out,
    stop,
  };
}
