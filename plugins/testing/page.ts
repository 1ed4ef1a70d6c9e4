// Test support for the browser tests: a page server that bundles a page of card views and
// stands in for Backstage's proxy (/berth/* to Berth, with the signed-in user's token), and a
// wait for what the test makes happen.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { build } from 'esbuild';

/** Polls probe until it gives a value, or fails after timeoutMs with the last error. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
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
    await new Promise(r => setTimeout(r, everyMs));
  }
}

/**
 * Serves the page whose script is entry (bundled with esbuild), proxying /berth/* to berthUrl
 * with token as the caller; onProxied hears each proxied request's response (to cut streams).
 */
export async function servePage(entry: string, berthUrl: string, token: string, onProxied?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  // Assets as an app's bundler takes them (Backstage's core-components import SVGs).
  const loader = { '.svg': 'dataurl', '.png': 'dataurl', '.css': 'empty' } as const;
  const bundle = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', jsx: 'transform', loader, define: { 'process.env.NODE_ENV': '"production"' } });
  const js = bundle.outputFiles[0].text;
  const target = new URL(berthUrl);
  const page = createServer((req, res) => {
    if (req.url?.startsWith('/berth/')) {
      const up = request(
        { host: target.hostname, port: target.port, path: req.url.slice('/berth'.length), method: req.method, headers: { ...req.headers, host: target.host, authorization: `Bearer ${token}` } },
        r => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          onProxied?.(req, res);
          r.pipe(res);
        },
      );
      // As a proxy does: a browser that goes away ends the request upstream too.
      res.on('close', () => up.destroy());
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
  return page;
}
