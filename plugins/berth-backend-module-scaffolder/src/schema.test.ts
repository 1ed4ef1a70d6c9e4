import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toZod } from './schema';

describe('toZod', () => {
  const schema = toZod(z, {
    type: 'object',
    required: ['name', 'mode'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', minLength: 2, maxLength: 40, title: 'Team name' },
      mode: { type: 'string', enum: ['off', 'audit', 'enforce'] },
      replicas: { type: 'integer', minimum: 1, maximum: 10 },
      parameter: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      parameters: { type: 'object' },
      public: { type: 'boolean' },
    },
  });

  it('accepts what Berth accepts', () => {
    expect(schema.parse({ name: 'payments', mode: 'audit', replicas: 3, parameter: ['x'], parameters: { a: 1 }, public: true })).toBeTruthy();
  });

  it.each([
    [{ mode: 'audit' }, 'name'],
    [{ name: 'Payments', mode: 'audit' }, 'name'],
    [{ name: 'payments', mode: 'loud' }, 'mode'],
    [{ name: 'payments', mode: 'audit', replicas: 1.5 }, 'replicas'],
    [{ name: 'payments', mode: 'audit', replicas: 11 }, 'replicas'],
    [{ name: 'payments', mode: 'audit', parameter: [] }, 'parameter'],
    [{ name: 'payments', mode: 'audit', extra: 1 }, ''],
  ])('refuses %j, naming %s', (input, field) => {
    const r = schema.safeParse(input);
    expect(r.success).toBe(false);
    if (field) expect(r.error!.issues.map(i => i.path.join('.'))).toContain(field);
  });

  it('keeps titles and descriptions for the template form', () => {
    expect((schema as any).shape.name.description).toBe('Team name');
  });
});
