import type { FastifyInstance } from 'fastify';
import { formatJsonPath } from '../http/json-schema.js';
import { HttpError } from './respond.js';
import { BodyError } from './validate.js';

/**
 * The JSON body parser of the fastify apps (admin API, operations routes). fastify's own
 * refuses a "__proto__" key (or constructor.prototype) as "Body is not valid JSON", which
 * is true of no JSON and tells the caller nothing. Here the text is parsed by JSON.parse,
 * which makes such a key an own property (harmless until something merges it), and then
 * refused as a 400 `invalid_request` naming where it is, in the shape every other
 * validation error has: `{ error: { code, message, path, issues } }`.
 */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new HttpError(400, 'invalid_json', 'the request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(e as Error).message}`);
  }
  // Only a text naming such a key (or escaping a character: "\u005f_proto__") can hold one.
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    const path = prototypeKeyPath(value);
    if (path) {
      const last = path[path.length - 1];
      const message = last === '__proto__' ? 'the key "__proto__" is not accepted (it names an object\'s prototype)' : 'a "constructor" object with a "prototype" key is not accepted';
      throw new BodyError(400, [{ path: formatJsonPath(path), message }]);
    }
  }
  return value;
}

/** Where a value sits: its key in its parent, and the parent's place (a path is built only for the key found). */
interface Place {
  value: unknown;
  key?: string | number;
  up?: Place;
}

/** The path of the first "__proto__" key, or "constructor" holding "prototype", in a parsed value; walked without recursion, in linear time (bodies may nest deeply). */
function prototypeKeyPath(root: unknown): (string | number)[] | undefined {
  const stack: Place[] = [{ value: root }];
  while (stack.length) {
    const place = stack.pop()!;
    const value = place.value;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, up: place });
      continue;
    }
    const keys = Object.keys(value);
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      if (k === '__proto__' || (k === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype'))) return pathOf({ value: v, key: k, up: place });
    }
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: (value as Record<string, unknown>)[keys[i]], key: keys[i], up: place });
  }
  return undefined;
}

function pathOf(place: Place): (string | number)[] {
  const path: (string | number)[] = [];
  for (let p: Place | undefined = place; p?.key !== undefined; p = p.up) path.push(p.key);
  return path.reverse();
}
