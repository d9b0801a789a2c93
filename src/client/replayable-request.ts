/** Idempotent methods per RFC 9110 (TRACE is omitted: fetch forbids it). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Sending a request again is only safe if doing it twice has the same effect as once:
 * an idempotent method, or the server deduplicates by Idempotency-Key.
 */
export function isRetrySafe(method: string, headers: Headers): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || headers.has('idempotency-key');
}

/**
 * A request captured so it can be sent any number of times: fetch bodies (streams in
 * particular) can be read only once, so the body is buffered up front, exactly once.
 */
export class ReplayableRequest {
  private constructor(
    readonly url: string,
    readonly method: string,
    readonly headers: Headers,
    private readonly body: Uint8Array | null,
    private readonly extraInit: RequestInit,
  ) {}

  static async from(request: Request, passthrough: RequestInit): Promise<ReplayableRequest> {
    // Request.arrayBuffer() drains any body type (string, FormData, stream) into bytes, and
    // the Request constructor already put the matching Content-Type (with boundary) in headers.
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : null;
    const fromRequest: RequestInit = {
      redirect: request.redirect,
      credentials: request.credentials,
      cache: request.cache,
      integrity: request.integrity,
      keepalive: request.keepalive,
      referrerPolicy: request.referrerPolicy,
    };
    // Non-standard init fields (e.g. undici's `dispatcher`) are kept from the caller's init.
    return new ReplayableRequest(request.url, request.method, new Headers(request.headers), body, {
      ...fromRequest,
      ...passthrough,
    });
  }

  /** Init for one attempt: fresh headers and body each time so attempts cannot affect each other. */
  init(signal: AbortSignal): RequestInit {
    return {
      ...this.extraInit,
      method: this.method,
      headers: new Headers(this.headers),
      body: this.body ? this.body.slice() : null,
      signal,
    };
  }
}
