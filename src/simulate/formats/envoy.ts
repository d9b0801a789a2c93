import type { LineParser } from '../log-entry.js';
import { jsonLinesParser, type FieldMap, type FieldOverrides } from './json-lines.js';

/**
 * Envoy's access log in JSON (`json_format`), with the field names of Envoy's and
 * Istio's documented examples: start_time, method, path (or x-envoy-original-path),
 * response_code, bytes_sent, downstream_remote_address ("ip:port"; the port is
 * dropped by the client-IP rules) and x_forwarded_for. Request headers logged with
 * %REQ(X-TENANT-ID)% under a key such as "x_tenant_id" are read as headers.
 */
export const ENVOY_FIELDS: FieldMap = {
  time: ['start_time', 'timestamp', 'time'],
  method: ['method', ':method', 'request_method'],
  url: ['x_envoy_original_path', 'x-envoy-original-path', 'path', ':path'],
  request: ['request'],
  status: ['response_code', 'status', 'status_code'],
  bytes: ['bytes_sent', 'response_bytes', 'bytes'],
  ip: ['downstream_remote_address', 'downstream_direct_remote_address', 'downstream_peer_address', 'client_ip'],
  headers: ['request_headers', 'headers'],
};

export function envoyParser(overrides?: FieldOverrides): LineParser {
  return jsonLinesParser(ENVOY_FIELDS, overrides);
}

/** Keys that only Envoy's access log has; two of them make a JSON line Envoy's. */
export const ENVOY_MARKERS = ['start_time', 'response_code', 'response_flags', 'downstream_remote_address', 'upstream_host', 'bytes_received', 'upstream_cluster'];

