/**
 * One access-log line, read into what a front door would have seen of the request
 * (method, URL, headers, peer address) and what happened to it (status, bytes sent).
 */
export interface LogEntry {
  /** 1-based line number in the input, for reports and unparsed-line listings. */
  line: number;
  /** When the request was made, milliseconds since the epoch: the virtual clock's time. */
  timeMs: number;
  method: string;
  /** Path with optional query string. */
  url: string;
  status: number;
  /** Response bytes sent (0 when the log says "-"). */
  bytes: number;
  /** The client (socket peer) address as logged. */
  remoteAddress: string | undefined;
  /** Lower-cased request headers the log carries (referer, user-agent, x-forwarded-for, …). */
  headers: Record<string, string>;
}

/** A line that could not be read: where and why. */
export interface Unparsed {
  line: number;
  reason: string;
}

/** Reads one line; a string answer says why the line could not be read. */
export type LineParser = (text: string, line: number) => LogEntry | string;

export type LogFormat = 'clf' | 'combined' | 'json' | 'envoy';
