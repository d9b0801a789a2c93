import type { LineParser, LogFormat } from '../log-entry.js';
import { accessLogParser } from './access-log.js';
import { ENVOY_MARKERS, envoyParser } from './envoy.js';
import { JSON_FIELDS, jsonLinesParser, type FieldOverrides } from './json-lines.js';

/** A reader for a named format. CLF and Combined share one (Combined only adds quoted fields). */
export function parserFor(format: LogFormat, overrides?: FieldOverrides): LineParser {
  switch (format) {
    case 'clf':
    case 'combined':
      return accessLogParser();
    case 'json':
      return jsonLinesParser(JSON_FIELDS, overrides);
    case 'envoy':
      return envoyParser(overrides);
  }
}

/**
 * The format of a log from its first lines: JSON objects are Envoy's when they carry
 * Envoy's own keys, other JSON otherwise; text lines are CLF, or Combined when the
 * quoted referer and user agent follow the byte count. Undefined when no reader takes
 * any of the lines.
 */
export function detectFormat(sample: readonly string[], overrides?: FieldOverrides): LogFormat | undefined {
  const lines = sample.filter((l) => l.trim() !== '');
  if (lines.length === 0) return undefined;
  const jsonish = lines.filter((l) => l.trimStart().startsWith('{'));
  if (jsonish.length * 2 > lines.length) {
    const envoyLike = jsonish.filter((l) => ENVOY_MARKERS.filter((k) => l.includes(`"${k}"`)).length >= 2).length;
    const format: LogFormat = envoyLike * 2 > jsonish.length ? 'envoy' : 'json';
    return readsAny(parserFor(format, overrides), lines) ? format : undefined;
  }
  const clf = accessLogParser();
  let any = false;
  let quoted = false;
  for (let i = 0; i < lines.length; i++) {
    const e = clf(lines[i], i + 1);
    if (typeof e === 'string') continue;
    any = true;
    if (/"\s+"[^"]*"\s*$/.test(lines[i])) quoted = true;
  }
  return any ? (quoted ? 'combined' : 'clf') : undefined;
}

function readsAny(parser: LineParser, lines: readonly string[]): boolean {
  return lines.some((l, i) => typeof parser(l, i + 1) !== 'string');
}
