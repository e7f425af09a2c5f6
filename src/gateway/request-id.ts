/**
 * The response header naming the request's usage record, for correlation. It is written with the response's own
 * headers (in writeHead), never set on the response beforehand: a header set early makes Node merge every later
 * header one setHeader call at a time, on every response.
 */
export const REQUEST_ID_HEADER = 'x-keywarden-request-id';
