import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSchema } from '../../src/http/json-schema.js';
import { documentSchema, openapiDocument } from '../../src/server/openapi.js';
import { checkSchema, REQUEST_BODIES } from '../../src/server/schemas.js';
import { ADMIN, ONE_RULE_POLICY, start, stopAll, TOKENS, type Service } from './support.js';

/** The OpenAPI document's request schemas are the ones the server validates with. */

let s: Service;
let doc: any;
beforeAll(async () => {
  s = await start({ policy: ONE_RULE_POLICY, bodyLimit: 4096, ...TOKENS });
  doc = (await s.get('/openapi.json')).body;
});
afterAll(stopAll);

/** Every operation with a request body: [method, path, its schema in the document]. */
function operations(d: any): [string, string, any][] {
  const out: [string, string, any][] = [];
  for (const [path, item] of Object.entries<any>(d.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const schema = op?.requestBody?.content?.['application/json']?.schema;
      if (schema) out.push([method.toUpperCase(), path, schema]);
    }
  }
  return out;
}

const urlOf = (path: string) => path.replace('{attr}', 'tenant').replace('{value}', 'acme');

describe('GET /openapi.json', () => {
  it('describes every request body with the schema the server validates it with', () => {
    const ops = operations(doc);
    expect(ops.map(([m, p]) => `${m} ${p}`).sort()).toEqual(Object.keys(REQUEST_BODIES).sort());
    for (const [m, p, schema] of ops) expect(schema, `${m} ${p}`).toEqual(documentSchema(REQUEST_BODIES[`${m} ${p}`]));
  });

  it('every example body in the document is accepted by the schema and by the live server (never 400)', async () => {
    let examples = 0;
    for (const [m, p, schema] of operations(doc)) {
      expect(schema.examples?.length, `${m} ${p} has examples`).toBeGreaterThan(0);
      const v = compileSchema(REQUEST_BODIES[`${m} ${p}`]);
      for (const ex of schema.examples) {
        expect(v.issues(ex), `${m} ${p} ${JSON.stringify(ex)}`).toBeUndefined();
        const r = await s.call(m, urlOf(p), ex, ADMIN);
        expect(r.status, `${m} ${p} ${JSON.stringify(ex)}: ${r.text}`).not.toBe(400);
        expect(r.status).toBeLessThan(500);
        examples++;
      }
    }
    expect(examples).toBeGreaterThanOrEqual(10);
  });

  it('a field the document does not list is refused by the server (400, naming it)', async () => {
    for (const [m, p, schema] of operations(doc)) {
      if (schema.additionalProperties !== false) continue;
      const r = await s.call(m, urlOf(p), { ...schema.examples[0], zz_not_a_field: 1 }, ADMIN);
      expect(r.status, `${m} ${p}`).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_request', path: 'zz_not_a_field' });
    }
  });

  it('a field removed from a schema disappears from the document', () => {
    const full = openapiDocument({ bodyLimit: 1024 }) as any;
    const without = openapiDocument({ bodyLimit: 1024, bodies: { ...REQUEST_BODIES, 'POST /v1/check': checkSchema.omit({ cost: true }) } }) as any;
    const schemaOf = (d: any) => d.paths['/v1/check'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(schemaOf(full).properties)).toEqual(['subject', 'cost']);
    expect(Object.keys(schemaOf(without).properties)).toEqual(['subject']);
  });

  it('states the body limit the service runs with, not a fixed one', () => {
    const said = doc.paths['/v1/check'].post.responses['413'].description;
    expect(said).toMatch(/4(\.0)? ?KB|4096/);
    expect(said).not.toMatch(/1 MiB/);
  });

  it('shows no validator wording and no JSON Schema dialect inside the document', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toContain('x-messages');
    expect(text).not.toContain('$schema');
  });
});
