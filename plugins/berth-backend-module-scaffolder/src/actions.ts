import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type LoggerService, resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { createTemplateAction, type TemplateAction } from '@backstage/plugin-scaffolder-node';
import { type ActionDefinition, BerthClient, BerthError } from '@berth-platform/backstage-plugin-berth-common';
import { type JsonSchema, toZod } from './schema';

type Json = Record<string, unknown>;

/**
 * One scaffolder action per definition Berth serves. The action does what the definition
 * says and nothing more: it calls the operation as the person running the template, with an
 * Idempotency-Key, inside a checkpoint (a resumed task does not call twice), and copies the
 * output fields from Berth's answer.
 */
export function berthAction(client: BerthClient, def: ActionDefinition): TemplateAction<any, any, 'v2'> {
  const input = def.input as JsonSchema;
  const output = def.output as JsonSchema;
  return createTemplateAction({
    id: def.id,
    description: def.description,
    examples: def.examples,
    supportsDryRun: def.supportsDryRun,
    schema: {
      input: (z: any) => toZod(z, input) as any,
      output: (z: any) => toZod(z, { ...output, required: [] }) as any,
    },
    async handler(ctx) {
      const values = { ...(ctx.input as Json) };
      // Where workspace files go is the action's business, not Berth's.
      const targetPath = def.workspaceFiles ? String(values.targetPath ?? '.') : '.';
      if (def.workspaceFiles) delete values.targetPath;
      const token = ctx.secrets?.backstageToken;
      if (!token) {
        throw new Error(
          `${def.id}: this task carries no Backstage token of the user who started it; Berth authorises the person, so the action cannot run on nobody's behalf`,
        );
      }
      const where = `${def.method} ${def.path}`;
      if (ctx.isDryRun && def.method !== 'GET' && !def.safe) {
        // Berth checks what it can without changing anything (access, names, parameters,
        // policy preflight) where the operation has a dry-run parameter.
        let checked: Json = {};
        if (def.dryRunParameter) {
          try {
            checked = ((await client.call(def.method, def.path, values, { token, query: { [def.dryRunParameter]: 'true' } })).body ?? {}) as Json;
          } catch (e) {
            if (e instanceof BerthError) throw new Error(`${def.id} (dry run): ${e.message}`);
            throw e;
          }
          for (const w of (checked.warnings as string[] | undefined) ?? []) ctx.logger.warn(`Berth: ${w}`);
          ctx.logger.info(`Dry run: Berth accepts ${where}; nothing was changed`);
        } else {
          ctx.logger.info(`Dry run: would call ${where} with ${JSON.stringify(values)}; nothing was changed in Berth`);
        }
        for (const name of Object.keys(output.properties ?? {})) {
          const v = name in checked ? checked[name] : values[name];
          if (v !== undefined) ctx.output(name, v as any);
        }
        return;
      }
      const key = `backstage-${ctx.task?.id ?? 'task'}-${ctx.step?.id ?? def.id}`.slice(0, 200);
      ctx.logger.info(`Calling Berth: ${where}`);
      const body = await ctx.checkpoint({
        key: `berth:${def.id}:${ctx.step?.id ?? ''}`,
        fn: async () => {
          try {
            const res = await client.call(def.method, def.path, values, { token, idempotencyKey: def.method === 'POST' ? key : undefined });
            return (res.body ?? {}) as any;
          } catch (e) {
            if (e instanceof BerthError) throw new Error(`${def.id}: ${e.message}`);
            throw e;
          }
        },
      });
      if (def.workspaceFiles) await writeWorkspaceFiles(ctx.workspacePath, targetPath, (body as Json)?.[def.workspaceFiles], ctx.logger);
      for (const name of Object.keys(output.properties ?? {})) {
        if (body && typeof body === 'object' && name in body) ctx.output(name, (body as Json)[name] as any);
      }
      ctx.logger.info(`Berth answered ${where}: ${summary(body)}`);
    },
  });
}

/**
 * Writes Berth's files into the workspace. Every path must stay inside targetPath inside the
 * workspace (resolveSafeChildPath refuses `..` and absolute paths), whatever Berth answered.
 */
async function writeWorkspaceFiles(workspace: string, targetPath: string, files: unknown, logger: LoggerService): Promise<void> {
  if (!Array.isArray(files)) throw new Error('Berth answered no files to write');
  const root = resolveSafeChildPath(workspace, targetPath);
  for (const f of files as { path?: unknown; content?: unknown }[]) {
    if (typeof f?.path !== 'string' || typeof f.content !== 'string') throw new Error('Berth answered a file without path or content');
    const dest = resolveSafeChildPath(root, f.path);
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, f.content);
    logger.info(`Wrote ${f.path}`);
  }
}

function summary(body: unknown): string {
  if (!body || typeof body !== 'object') return 'done';
  const b = body as Json;
  return ['id', 'name', 'status'].filter(k => typeof b[k] === 'string').map(k => `${k} ${b[k]}`).join(', ') || 'done';
}

/**
 * Reads Berth's action definitions, trying again for a while: Backstage may start before
 * Berth answers, and an action that is not registered cannot be used by any template.
 */
export async function loadDefinitions(client: BerthClient, logger: LoggerService, attempts = 10, delayMs = 3000): Promise<ActionDefinition[]> {
  for (let i = 1; ; i++) {
    try {
      return await client.listActions();
    } catch (e) {
      // A refusal (wrong token, wrong URL path) will not change by waiting.
      const refused = e instanceof BerthError && e.status >= 400 && e.status < 500;
      if (refused || i >= attempts) throw new Error(`cannot read Berth's scaffolder actions from ${client.baseUrl}: ${e}`);
      logger.warn(`Berth's scaffolder actions not readable yet (${e}); trying again`);
      await new Promise(r => setTimeout(r, delayMs));
    }
  }
}
