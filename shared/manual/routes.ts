/**
 * The manual-sync function's HTTP routes, in one list: the handler (shared/manual/http.ts) serves exactly
 * these, and packaging (shared/config/serverless-resources.ts) declares exactly these on the HTTP API.
 * `public` routes have no authorizer: the console page and how to sign in (they hold no data).
 */
export const HTTP_ROUTES = [
  { method: 'GET', path: '/', public: true },
  { method: 'GET', path: '/auth-config', public: true },
  { method: 'GET', path: '/catalog', public: false },
  { method: 'GET', path: '/status', public: false },
  { method: 'POST', path: '/sync', public: false },
  { method: 'GET', path: '/sync', public: false },
  { method: 'GET', path: '/sync/{jobId}', public: false },
  { method: 'POST', path: '/sync/{jobId}/cancel', public: false },
  { method: 'POST', path: '/sync/{jobId}/resume', public: false },
  { method: 'GET', path: '/dead-letters', public: false },
  { method: 'POST', path: '/dead-letters/retry', public: false },
  { method: 'POST', path: '/dead-letters/{id}/retry', public: false },
  { method: 'POST', path: '/dead-letters/{id}/discard', public: false },
  { method: 'POST', path: '/verify', public: false },
  { method: 'GET', path: '/verify/{verifyId}', public: false },
  { method: 'POST', path: '/verify/{verifyId}/repair', public: false },
] as const satisfies readonly { method: 'GET' | 'POST'; path: string; public: boolean }[];

export type HttpRoute = (typeof HTTP_ROUTES)[number];
export const routeKey = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
