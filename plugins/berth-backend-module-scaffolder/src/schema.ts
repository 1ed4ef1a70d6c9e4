import type { z as zod, ZodTypeAny } from 'zod';

/** The part of JSON Schema that Berth's action definitions use. */
export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
}

/**
 * Builds a zod schema from the JSON Schema Berth serves for an action, with the zod the
 * scaffolder hands us (so its version is the scaffolder's). Unknown keywords are ignored:
 * Berth validates again, and its answer names the field.
 */
export function toZod(z: typeof zod, s: JsonSchema): ZodTypeAny {
  let out: ZodTypeAny;
  if (s.enum && s.enum.every(v => typeof v === 'string') && s.enum.length > 0) {
    out = z.enum(s.enum as [string, ...string[]]);
  } else {
    switch (s.type) {
      case 'object':
        out = object(z, s);
        break;
      case 'string': {
        let str = z.string();
        if (s.minLength !== undefined) str = str.min(s.minLength);
        if (s.maxLength !== undefined) str = str.max(s.maxLength);
        if (s.pattern) str = str.regex(new RegExp(s.pattern), { message: `must match ${s.pattern}` });
        out = str;
        break;
      }
      case 'integer':
      case 'number': {
        let n = z.number();
        if (s.type === 'integer') n = n.int();
        if (s.minimum !== undefined) n = n.min(s.minimum);
        if (s.maximum !== undefined) n = n.max(s.maximum);
        out = n;
        break;
      }
      case 'boolean':
        out = z.boolean();
        break;
      case 'array': {
        let a = z.array(s.items ? toZod(z, s.items) : z.unknown());
        if (s.minItems !== undefined) a = a.min(s.minItems);
        if (s.maxItems !== undefined) a = a.max(s.maxItems);
        out = a;
        break;
      }
      default:
        out = z.unknown();
    }
  }
  const text = [s.title, s.description].filter(Boolean).join(': ');
  return text ? out.describe(text) : out;
}

function object(z: typeof zod, s: JsonSchema): ZodTypeAny {
  if (!s.properties) return z.record(z.string(), z.unknown());
  const required = new Set(s.required ?? []);
  const shape: Record<string, ZodTypeAny> = {};
  for (const [name, prop] of Object.entries(s.properties)) {
    const t = toZod(z, prop);
    shape[name] = required.has(name) ? t : t.optional();
  }
  const obj = z.object(shape);
  return s.additionalProperties === false ? obj.strict() : obj.catchall(z.unknown());
}
