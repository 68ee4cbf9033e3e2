// Resolves serverless.yml's `${file(./serverless/resources.cjs):...}` variables from sync.config.yml,
// validated by the same zod schema the functions use (TypeScript loaded through tsx).
const fs = require('node:fs');
const path = require('node:path');
const { register } = require('tsx/cjs/api');

const serviceDir = path.resolve(__dirname, '..');

module.exports = async () => {
  const unregister = register();
  try {
    const { loadConfigFile } = require('../shared/config/load.ts');
    const { serverlessFragments } = require('../shared/config/serverless-resources.ts');
    const source = path.resolve(process.cwd(), process.env.SYNC_CONFIG || 'sync.config.yml');
    const config = loadConfigFile(source);
    // The functions read the very file the triggers were generated from: it is copied into the package.
    const bundled = path.join(serviceDir, '.build-config', 'sync.config.yml');
    fs.mkdirSync(path.dirname(bundled), { recursive: true });
    fs.copyFileSync(source, bundled);
    return serverlessFragments(config);
  } finally {
    unregister();
  }
};
