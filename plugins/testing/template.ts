/**
 * Runs a software Template's steps the way Backstage's scaffolder does, through registered
 * actions: each step's input is rendered from the parameters and earlier steps' outputs
 * (`${{ ... }}` with the parseEntityRef and pick filters the templates use), validated
 * against the action's input schema, and handed to the action's handler. A step whose `if`
 * renders empty or false is skipped, and every step shares one workspace folder.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { Validator } from 'jsonschema';

type Scope = { parameters: Record<string, unknown>; steps: Record<string, { output: Record<string, unknown> }> };

const whole = /^\$\{\{\s*(.+?)\s*\}\}$/;
const part = /\$\{\{\s*(.+?)\s*\}\}/g;

function evaluate(expr: string, scope: Scope): unknown {
  const [path, ...filters] = expr.split('|').map(s => s.trim());
  let v: unknown = scope;
  for (const m of path.matchAll(/([A-Za-z_$][\w$]*)|\[\s*'([^']+)'\s*\]/g)) {
    v = v === undefined || v === null ? undefined : (v as any)[m[1] ?? m[2]];
  }
  for (const f of filters) {
    if (f === 'parseEntityRef') {
      const m = /^(?:([^:]+):)?(?:([^/]+)\/)?(.+)$/.exec(String(v));
      v = m ? { kind: m[1], namespace: m[2] ?? 'default', name: m[3] } : undefined;
    } else if (f.startsWith('pick(')) {
      v = (v as any)?.[f.slice(6, -2)];
    } else {
      throw new Error(`the test renderer has no filter ${f}`);
    }
  }
  return v;
}

export function render(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    const m = whole.exec(value);
    if (m) return evaluate(m[1], scope);
    return value.replace(part, (_, e) => String(evaluate(e, scope) ?? ''));
  }
  if (Array.isArray(value)) return value.map(v => render(v, scope));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = render(v, scope);
      if (r !== undefined && r !== '') out[k] = r;
    }
    return out;
  }
  return value;
}

export interface TemplateRun {
  outputs: Record<string, Record<string, unknown>>;
  /** The task's workspace folder, with what the steps wrote. */
  workspace: string;
  /** The template's output section, rendered. */
  output: unknown;
}

export async function runTemplate(
  template: any,
  parameters: Record<string, unknown>,
  actions: TemplateAction<any, any, any>[],
  secrets: Record<string, string>,
  taskId = `task-${Date.now()}`,
): Promise<TemplateRun> {
  const scope: Scope = { parameters, steps: {} };
  const byId = new Map(actions.map(a => [a.id, a]));
  const workspace = mkdtempSync(join(tmpdir(), 'berth-task-'));
  for (const step of template.spec.steps) {
    if ('if' in step && !render(step.if, scope)) continue;
    const action = byId.get(step.action);
    if (!action) throw new Error(`step ${step.id}: no registered action ${step.action}`);
    const input = render(step.input ?? {}, scope) as Record<string, unknown>;
    const check = new Validator().validate(input, action.schema?.input ?? {});
    if (!check.valid) throw new Error(`step ${step.id}: input does not match ${step.action}: ${check.errors.map(e => e.stack).join('; ')}`);
    const output: Record<string, unknown> = {};
    const ctx = createMockActionContext({ input: input as any, secrets, task: { id: taskId } as any });
    ctx.output = ((k: string, v: unknown) => (output[k] = v)) as any;
    (ctx as any).step = { id: step.id, name: step.name };
    (ctx as any).workspacePath = workspace;
    await action.handler(ctx as any);
    scope.steps[step.id] = { output };
  }
  return {
    outputs: Object.fromEntries(Object.entries(scope.steps).map(([k, v]) => [k, v.output])),
    workspace,
    output: render(template.spec.output, scope),
  };
}
