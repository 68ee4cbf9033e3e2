/** `npm run build`: both functions bundled exactly as `serverless package` bundles them, into .build/functions. */
import { type BuildOptions, build } from 'esbuild';

// Plain CommonJS, because serverless.yml reads it (through serverless/resources.cjs).
const { esbuildOptions } = require('../serverless/esbuild.cjs') as { esbuildOptions: BuildOptions };

build({
  ...esbuildOptions,
  entryPoints: ['functions/cdc-sync.ts', 'functions/manual-sync.ts'],
  outdir: '.build/functions',
  logLevel: 'warning',
}).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
