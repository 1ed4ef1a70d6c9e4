// Test support: Debian's Prometheus (hack/deps.sh installs it) scraping, every second, an
// exporter on 127.0.0.1 that serves series labelled like a team's pods, growing at known
// rates: 10 requests/s (1 of 10 a 500), latency buckets 0.1 s (4 of 10) and 0.5 s (8 of 10),
// 0.25 cores and 100 MiB per pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './berth';

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** The exporter, serving the series of pods (namespace/name); its host:port. */
export async function startExporter(pods: () => { namespace: string; name: string }[]): Promise<{ target: string; server: Server }> {
  const start = Date.now();
  const server = createServer((_req, res) => {
    const s = (Date.now() - start) / 1000 + 100;
    const out: string[] = ['# TYPE http_requests_total counter'];
    for (const p of pods()) {
      const l = `namespace="${p.namespace}",pod="${p.name}"`;
      out.push(`http_requests_total{${l},code="200"} ${9 * s}`, `http_requests_total{${l},code="500"} ${s}`);
      for (const [le, n] of [['0.1', 4], ['0.5', 8], ['+Inf', 10]] as const) out.push(`http_request_duration_seconds_bucket{${l},le="${le}"} ${n * s}`);
      out.push(`container_cpu_usage_seconds_total{${l},container="web"} ${0.25 * s}`, `container_memory_working_set_bytes{${l},container="web"} ${100 * 1024 * 1024}`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(out.join('\n') + '\n');
  });
  await new Promise<void>(ok => server.listen(0, '127.0.0.1', ok));
  return { target: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Prometheus scraping target every second, once it has scraped it. */
export async function startPrometheus(target: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-prom-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: pods\n    honor_labels: true\n    static_configs: [{targets: ["${target}"]}]\n`,
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.env.PROMETHEUS ?? 'prometheus',
    ['--config.file', join(dir, 'prometheus.yml'), '--storage.tsdb.path', join(dir, 'data'), '--web.listen-address', `127.0.0.1:${port}`, '--log.level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', d => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise(ok => child.once('exit', ok));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
    try {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up{job="pods"} == 1')}`);
      if (r.ok && (await r.text()).includes('"value":[')) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus has not scraped ${target} after 60 s: ${log}`);
    }
    await new Promise(r => setTimeout(r, 500));
  }
  return { url, stop };
}
