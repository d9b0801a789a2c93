import { safeParse } from 'fast-content-type-parse';

/**
 * Content-Type headers, parsed by fast-content-type-parse (RFC 9110 media type and
 * parameters, quoted values included) instead of prefix tests and regular expressions.
 */

/** The media type, lower case, without parameters; '' when there is none or it does not parse. */
export function mediaType(header: string | undefined): string {
  return header ? safeParse(header).type : '';
}

/** A parameter of the header (`boundary`, `charset`), or undefined. */
export function mediaTypeParameter(header: string | undefined, name: string): string | undefined {
  return header ? safeParse(header).parameters[name] : undefined;
}

/** application/json or any +json type (application/problem+json, application/vnd.x+json). */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}
