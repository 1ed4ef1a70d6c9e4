import createClient from 'openapi-fetch';
import type { components, paths } from './schema.gen';
import { type LogEvent, type LogQuery, frames, logParams } from './logs';

/** Schemas of Berth's API, as generated from openapi/berth.yaml. */
export type Schemas = components['schemas'];
export type ActionDefinition = Schemas['ActionDefinition'];
export type ServiceWorkloads = Schemas['ServiceWorkloads'];
export type ServiceDiagnosis = Schemas['ServiceDiagnosis'];
export type Finding = Schemas['Finding'];
export type CatalogEntity = Schemas['CatalogEntity'];
export type ServiceDetail = Schemas['ServiceDetail'];
export type PolicyViolationReport = Schemas['PolicyViolationReport'];
export type Problem = Schemas['Problem'];
export type ServiceSignals = Schemas['ServiceSignals'];
export type SignalRange = Schemas['SignalRange'];
export type SignalName = Schemas['SignalName'];
export type CostReport = Schemas['CostReport'];
export type CostWindow = 'today' | '7d' | 'month';
export type Rightsizing = Schemas['Rightsizing'];
export type EnvironmentSchedule = Schemas['EnvironmentSchedule'];

/** An answer of Berth that is not a success, with its RFC 9457 problem when it sent one. */
export class BerthError extends Error {
  constructor(
    readonly status: number,
    readonly problem?: Problem,
  ) {
    super(BerthError.describe(status, problem));
    this.name = 'BerthError';
  }

  private static describe(status: number, p?: Problem): string {
    if (!p) return `Berth answered ${status}`;
    const fields = (p.errors ?? []).map(e => `${e.pointer ?? e.parameter}: ${e.detail}`);
    const violations = (p.violations ?? []).map(v => `${v.policy} (${v.kind} ${v.name}): ${v.message}. Fix: ${v.remediation}`);
    return [`${p.title}${p.detail ? `: ${p.detail}` : ''}`, ...fields, ...violations].join('; ');
  }
}

export interface BerthClientOptions {
  /**
   * Berth's base URL, e.g. https://berth.example.com (no /api/v1), or a function that finds
   * it (a Backstage app learns its proxy's URL asynchronously).
   */
  baseUrl: string | (() => Promise<string>);
  /** The bearer token to send, asked for per request (it may be the caller's own). */
  token?: () => Promise<string | undefined>;
  /** A fetch to use instead of the global one (Backstage's fetchApi, for example). */
  fetch?: typeof globalThis.fetch;
}

/** Options of one call. */
export interface CallOptions {
  /** Overrides the client's token for this call (e.g. the user running a template). */
  token?: string;
  /** Sent as Idempotency-Key, so a retried call changes nothing twice. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/**
 * A small typed client of Berth's API. Paths and bodies are checked against the generated
 * schema; failures throw BerthError with Berth's problem.
 */
export class BerthClient {
  private readonly api: ReturnType<typeof createClient<paths>>;
  private readonly opts: BerthClientOptions;

  constructor(opts: BerthClientOptions) {
    this.opts = opts;
    const f = opts.fetch ?? globalThis.fetch;
    this.api = createClient<paths>({ fetch: r => f(r) });
  }

  /** The base URL when it was given as a string. */
  get baseUrl(): string {
    if (typeof this.opts.baseUrl !== 'string') throw new Error('this BerthClient finds its base URL per call');
    return trim(this.opts.baseUrl);
  }

  private async base(): Promise<string> {
    return trim(typeof this.opts.baseUrl === 'string' ? this.opts.baseUrl : await this.opts.baseUrl());
  }

  /** Headers of a call: the bearer token and the idempotency key. */
  async headers(o: CallOptions = {}): Promise<Record<string, string>> {
    const h: Record<string, string> = {};
    const token = o.token ?? (await this.opts.token?.());
    if (token) h.Authorization = `Bearer ${token}`;
    if (o.idempotencyKey) h['Idempotency-Key'] = o.idempotencyKey;
    return h;
  }

  async listActions(o?: CallOptions): Promise<ActionDefinition[]> {
    const r = await this.api.GET('/api/v1/actions', { baseUrl: await this.base(), headers: await this.headers(o), signal: o?.signal });
    return must(r).items;
  }

  /**
   * Reads the catalog entities; with the ETag of the last answer, resolves to undefined when
   * nothing changed (Berth answered 304).
   */
  async catalogEntities(etag?: string, o?: CallOptions): Promise<{ entities: CatalogEntity[]; etag?: string } | undefined> {
    const headers = await this.headers(o);
    if (etag) headers['If-None-Match'] = etag;
    const r = await this.api.GET('/api/v1/catalog/entities', { baseUrl: await this.base(), headers, signal: o?.signal });
    if (r.response.status === 304) return undefined;
    return { entities: must(r).items, etag: r.response.headers.get('ETag') ?? undefined };
  }

  async getService(team: string, service: string, o?: CallOptions): Promise<ServiceDetail> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}', {
      baseUrl: await this.base(),
      params: { path: { team, service } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  async listViolations(team: string, filter: { service?: string; environment?: string; policy?: string; limit?: number } = {}, o?: CallOptions): Promise<PolicyViolationReport> {
    const r = await this.api.GET('/api/v1/teams/{team}/policy-violations', {
      baseUrl: await this.base(),
      params: { path: { team }, query: filter },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** What the service runs in each environment, from Berth's informers. */
  async getWorkloads(team: string, service: string, o?: CallOptions): Promise<ServiceWorkloads> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}/workloads', {
      baseUrl: await this.base(),
      params: { path: { team, service } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** Why the service is failing, per environment: findings with evidence and a fix. */
  async diagnose(team: string, service: string, o?: CallOptions): Promise<ServiceDiagnosis> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}/diagnosis', {
      baseUrl: await this.base(),
      params: { path: { team, service } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** The service's golden signals in one environment now. */
  async getSignals(team: string, service: string, environment: string, o?: CallOptions): Promise<ServiceSignals> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}/signals', {
      baseUrl: await this.base(),
      params: { path: { team, service }, query: { environment } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** One signal over the last sinceSeconds, for a chart. */
  async getSignalRange(team: string, service: string, signal: SignalName, environment: string, sinceSeconds = 3600, o?: CallOptions): Promise<SignalRange> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}/signals/{signal}', {
      baseUrl: await this.base(),
      params: { path: { team, service, signal }, query: { environment, sinceSeconds } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** An environment's sleep schedule and state; undefined when it has none. */
  async getSchedule(team: string, environment: string, o?: CallOptions): Promise<EnvironmentSchedule | undefined> {
    const r = await this.api.GET('/api/v1/teams/{team}/environments/{environment}/schedule', {
      baseUrl: await this.base(),
      params: { path: { team, environment } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    if (r.response.status === 404 && isProblem(r.error) && /no sleep schedule/.test(r.error.detail ?? '')) return undefined;
    return must(r);
  }

  /** Wakes (or sleeps) an environment now for some hours; then its schedule decides again. */
  async overrideSchedule(team: string, environment: string, state: 'awake' | 'asleep', hours: number, o?: CallOptions): Promise<EnvironmentSchedule> {
    const r = await this.api.PUT('/api/v1/teams/{team}/environments/{environment}/schedule/override', {
      baseUrl: await this.base(),
      params: { path: { team, environment } },
      body: { state, hours },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** Hands an environment back to its schedule. */
  async clearScheduleOverride(team: string, environment: string, o?: CallOptions): Promise<EnvironmentSchedule> {
    const r = await this.api.DELETE('/api/v1/teams/{team}/environments/{environment}/schedule/override', {
      baseUrl: await this.base(),
      params: { path: { team, environment } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** What the team's services cost over a window, with each budgeted environment's month so far and forecast. */
  async getTeamCosts(team: string, window: CostWindow = 'month', o?: CallOptions): Promise<CostReport> {
    const r = await this.api.GET('/api/v1/teams/{team}/costs', {
      baseUrl: await this.base(),
      params: { path: { team }, query: { window } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** What the service cost over a window, per environment and day. */
  async getServiceCosts(team: string, service: string, window: CostWindow = 'month', o?: CallOptions): Promise<CostReport> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}/costs', {
      baseUrl: await this.base(),
      params: { path: { team, service }, query: { window } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /** Recommended requests and limits per container in an environment, from the last windowHours of usage. */
  async getRightsizing(team: string, service: string, environment: string, windowHours = 168, o?: CallOptions): Promise<Rightsizing> {
    const r = await this.api.GET('/api/v1/teams/{team}/services/{service}/rightsizing', {
      baseUrl: await this.base(),
      params: { path: { team, service }, query: { environment, windowHours } },
      headers: await this.headers(o),
      signal: o?.signal,
    });
    return must(r);
  }

  /**
   * Follows the service's logs until o.signal aborts or Berth ends the stream (an error event:
   * access ended). When the connection drops, it reconnects with the last line's id, so every
   * line arrives once; onEvent hears a `reconnecting` event meanwhile.
   */
  async streamLogs(team: string, service: string, q: LogQuery, onEvent: (e: LogEvent) => void, o: CallOptions & { signal: AbortSignal }): Promise<void> {
    const url = `${await this.base()}/api/v1/teams/${encodeURIComponent(team)}/services/${encodeURIComponent(service)}/logs?${logParams(q)}`;
    const f = this.opts.fetch ?? globalThis.fetch;
    let last = '';
    let connected = false;
    for (let attempt = 0; !o.signal.aborted; attempt++) {
      const headers = await this.headers(o);
      if (last) headers['Last-Event-ID'] = last;
      try {
        const res = await f(url, { headers, signal: o.signal });
        if (!res.ok || !res.body) {
          const text = await res.text();
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          throw new BerthError(res.status, isProblem(body) ? body : undefined);
        }
        attempt = 0;
        connected = true;
        for await (const fr of frames(res.body)) {
          const e = { kind: fr.event, ...JSON.parse(fr.data || '{}') } as LogEvent;
          if (fr.id) last = fr.id;
          onEvent(e);
          if (e.kind === 'error' && !e.pod) return; // Berth ended it: nothing to resume
        }
      } catch (err) {
        if (o.signal.aborted) return;
        // A stream that never opened says why at once (no cluster, no access, too many); one
        // that was open resumes through a dropped connection, a restarting Berth (503) or a
        // stream not given back yet (429).
        if (!connected || (err instanceof BerthError && err.status !== 503 && err.status !== 429)) throw err;
        if (attempt >= 5) throw err;
      }
      if (o.signal.aborted) return;
      onEvent({ kind: 'reconnecting' });
      await new Promise(r => setTimeout(r, Math.min(1000 * (attempt + 1), 5000)));
    }
  }

  /** The service's logs as a file (container after container), text or gzip. */
  async downloadLogs(team: string, service: string, q: LogQuery, format: 'text' | 'gzip' = 'text', o?: CallOptions): Promise<Blob> {
    const url = `${await this.base()}/api/v1/teams/${encodeURIComponent(team)}/services/${encodeURIComponent(service)}/logs/download?${logParams(q, { format })}`;
    const res = await (this.opts.fetch ?? globalThis.fetch)(url, { headers: await this.headers(o), signal: o?.signal });
    if (!res.ok) {
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        body = undefined;
      }
      throw new BerthError(res.status, isProblem(body) ? body : undefined);
    }
    return res.blob();
  }

  /**
   * Calls an operation by method and path template as an action definition names it: path
   * parameters come out of input, the rest is the JSON body (none for GET and DELETE).
   */
  async call(method: string, pathTemplate: string, input: Record<string, unknown>, o?: CallOptions & { query?: Record<string, string> }): Promise<{ status: number; body: unknown }> {
    const rest: Record<string, unknown> = { ...input };
    const path = pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const v = rest[name];
      delete rest[name];
      if (v === undefined || v === null || v === '') throw new Error(`input has no ${name} for ${pathTemplate}`);
      return encodeURIComponent(String(v));
    });
    const headers = await this.headers(o);
    const hasBody = method !== 'GET' && method !== 'DELETE';
    if (hasBody) headers['Content-Type'] = 'application/json';
    const query = o?.query && Object.keys(o.query).length ? `?${new URLSearchParams(o.query)}` : '';
    const res = await (this.opts.fetch ?? globalThis.fetch)(`${await this.base()}${path}${query}`, {
      method,
      headers,
      body: hasBody ? JSON.stringify(rest) : undefined,
      signal: o?.signal,
    });
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!res.ok) throw new BerthError(res.status, isProblem(body) ? body : undefined);
    return { status: res.status, body };
  }
}

function trim(u: string): string {
  return u.replace(/\/+$/, '');
}

function isProblem(b: unknown): b is Problem {
  return typeof b === 'object' && b !== null && 'title' in b && 'status' in b;
}

function must<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  throw new BerthError(r.response.status, isProblem(r.error) ? r.error : undefined);
}
