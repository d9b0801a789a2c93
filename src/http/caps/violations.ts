import type { CompiledCap } from '../../policy/compiled.js';
import type { ItemWatch } from './plan.js';

/** What a crossed cap answers: the body every front door sends (413 or 422 unless the cap says otherwise). */
export interface CapViolation {
  status: number;
  code: string;
  message: string;
  cap: string;
  limit: number;
  path?: string;
}


function respond(cap: CompiledCap, status: number, code: string, message: string, limit: number, path?: string): CapViolation {
  return {
    status: cap.response?.status ?? status,
    code: cap.response?.code ?? code,
    message: cap.response?.message ?? message,
    cap: cap.name,
    limit,
    ...(path ? { path } : {}),
  };
}

export function bodyTooLarge(cap: CompiledCap, max: number): CapViolation {
  return respond(cap, 413, 'payload_too_large', `Request body too large: cap "${cap.name}" allows at most ${formatBytes(max)} per request.`, max);
}

export function tooManyItems(w: ItemWatch): CapViolation {
  return respond(w.cap, 422, 'too_many_items', `Too many items at ${w.path}: cap "${w.cap.name}" allows at most ${w.max} per request.`, w.max, w.path);
}

export function tooManyRows(cap: CompiledCap, max: number): CapViolation {
  return respond(cap, 422, 'too_many_rows', `Too many rows in the upload: cap "${cap.name}" allows at most ${max} rows per upload.`, max);
}

export function fileTooLarge(cap: CompiledCap, max: number, filename?: string): CapViolation {
  return respond(cap, 413, 'file_too_large', `Uploaded file ${filename ? `"${filename}" ` : ''}too large: cap "${cap.name}" allows at most ${formatBytes(max)} per file.`, max);
}

export function encodedBody(cap: CompiledCap, coding: string): CapViolation {
  return respond(cap, 415, 'unsupported_content_encoding', `Content-Encoding ${coding} is not accepted here: cap "${cap.name}" counts the body as sent; send it unencoded.`, 0);
}

export function unsupportedCharset(cap: CompiledCap, charset: string): CapViolation {
  return respond(cap, 415, 'unsupported_charset', `charset ${charset} is not accepted here: cap "${cap.name}" counts JSON as UTF-8; send it as UTF-8.`, 0);
}

export function formatBytes(n: number): string {
  const units: [number, string][] = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'KB']];
  for (const [size, unit] of units) if (n >= size && n % (size / 100) === 0) return `${+(n / size).toFixed(2)} ${unit} (${n} bytes)`;
  return `${n} bytes`;
}
