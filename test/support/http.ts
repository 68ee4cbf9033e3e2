import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway v2 request as the HTTP API delivers it, with a JWT identity. */
export function httpRequest(
  method: string,
  path: string,
  body?: unknown,
  claims: Record<string, string> = { sub: 'qa-alice' },
  query: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(query).toString();
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString,
    headers: { 'content-type': 'application/json' },
    ...(rawQueryString ? { queryStringParameters: query } : {}),
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req',
      routeKey: `${method} ${path}`,
      stage: '$default',
      authorizer: { jwt: { claims, scopes: [] } },
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}
