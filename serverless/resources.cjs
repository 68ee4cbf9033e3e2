// Resolves serverless.yml's `${file(./serverless/resources.cjs):...}` variables from sync.config.yml,
// validated by the same zod schema the functions use (TypeScript loaded through tsx).
const crypto = require('node:crypto');
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
    // The functions read the very file the triggers were generated from: it is copied into the package,
    // under a name derived from its content so that concurrent packagings never overwrite each other.
    const text = fs.readFileSync(source);
    const digest = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
    const bundledConfig = `.build-config/${digest}/sync.config.yml`;
    fs.mkdirSync(path.join(serviceDir, path.dirname(bundledConfig)), { recursive: true });
    fs.writeFileSync(path.join(serviceDir, bundledConfig), text);
    return { ...serverlessFragments(config), bundledConfig };
  } finally {
    unregister();
  }
};
