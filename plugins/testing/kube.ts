// A few calls to the local plane's API server as its admin, for tests that make a cause happen
// the way the kubelet reports it (a pod's status, kwok's log files). It reads the plane's
// kubeconfig (file paths to the CA, client certificate and key) and speaks plain HTTPS.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { load } from 'js-yaml';

type Kubeconfig = {
  clusters: { cluster: { server: string; 'certificate-authority': string } }[];
  users: { user: { 'client-certificate': string; 'client-key': string } }[];
};

export class Kube {
  private readonly server: URL;
  private readonly ca: Buffer;
  private readonly cert: Buffer;
  private readonly key: Buffer;

  constructor(kubeconfigPath: string) {
    const kc = load(readFileSync(kubeconfigPath, 'utf8')) as Kubeconfig;
    this.server = new URL(kc.clusters[0].cluster.server);
    this.ca = readFileSync(kc.clusters[0].cluster['certificate-authority']);
    this.cert = readFileSync(kc.users[0].user['client-certificate']);
    this.key = readFileSync(kc.users[0].user['client-key']);
  }

  /** One call; a status of 300 or more is an error naming the path and the answer. */
  call(method: string, path: string, body?: unknown): Promise<any> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port,
          path,
          method,
          ca: this.ca,
          cert: this.cert,
          key: this.key,
          headers: { Accept: 'application/json', ...(data ? { 'Content-Type': 'application/json' } : {}) },
        },
        res => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', c => (text += c));
          res.on('end', () => {
            if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
            else resolve(text ? JSON.parse(text) : undefined);
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }
}
