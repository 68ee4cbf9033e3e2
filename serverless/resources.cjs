// serverless.yml's `custom.sync: ${file(./serverless/resources.cjs)}`: the fragments generated from
// sync.config.yml (or the file SYNC_CONFIG names), validated by the same zod schema the functions use. The rest of
// serverless.yml reads them as `${self:custom.sync.<name>}`.
//
// osls calls an exported function (awaiting its promise) once per `${file(...)}` reference and passes
// { options, resolveVariable, resolveConfigurationProperty }; we need none of them. An error thrown here fails
// variable resolution, so `serverless package` exits non-zero with the message.
//
// The TypeScript sources are loaded with tsx's namespaced require (`tsx/cjs/api`): nothing is compiled ahead of
// time and no global require hook stays installed, so a fresh clone works right after `npm ci`, offline.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const tsx = require('tsx/cjs/api');

const serviceDir = path.resolve(__dirname, '..');
/** Copies of validated config files, one per content digest; bundled into every function. */
const CONFIG_COPIES = '.build-config';
/** serverless-esbuild's work folders, one per serverless process (see `esbuild` below). */
const WORK_ROOT = '.esbuild';
const DAY_MS = 24 * 60 * 60 * 1000;

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

/** Best effort: work folders of processes that are gone (`invoke local` never removes its own), old copies. */
function pruneLeftovers() {
  const workRoot = path.join(serviceDir, WORK_ROOT);
  for (const name of fs.existsSync(workRoot) ? fs.readdirSync(workRoot) : []) {
    const pid = /^run-(\d+)$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !alive(Number(pid))) {
      fs.rmSync(path.join(workRoot, name), { recursive: true, force: true });
    }
  }
  const copies = path.join(serviceDir, CONFIG_COPIES);
  for (const name of fs.existsSync(copies) ? fs.readdirSync(copies) : []) {
    const dir = path.join(copies, name);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > DAY_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // another process pruned it first
    }
  }
}

async function resolve() {
  const { loadConfigFile } = tsx.require('../shared/config/load.ts', __filename);
  const { serverlessFragments } = tsx.require('../shared/config/serverless-resources.ts', __filename);

  const source = path.resolve(process.cwd(), process.env.SYNC_CONFIG || 'sync.config.yml');
  // Throws ConfigError naming the bad key; osls reports it and `serverless package` exits non-zero.
  const config = loadConfigFile(source);
  const fragments = serverlessFragments(config);

  pruneLeftovers();
  // The functions read the very file the triggers were generated from. It may live outside the service
  // directory (SYNC_CONFIG), so a copy goes into the package under a name derived from its content: concurrent
  // packagings with different configs never overwrite each other's copy.
  // As JSON: the functions then need no YAML parser (it is left out of the bundles). The validated document,
  // which the functions validate again at cold start.
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const digest = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  const bundledConfig = `${CONFIG_COPIES}/${digest}/sync.config.json`;
  fs.mkdirSync(path.join(serviceDir, path.dirname(bundledConfig)), { recursive: true });
  fs.writeFileSync(path.join(serviceDir, bundledConfig), text);

  return {
    ...fragments,
    bundledConfig,
    // serverless-esbuild zips everything in its build folder, and `invoke local` leaves that folder behind: a
    // shared folder would put an earlier run's config copy into this run's zips. One folder per process.
    esbuild: {
      ...require('./esbuild.cjs').serverlessEsbuildOptions,
      outputWorkFolder: `${WORK_ROOT}/run-${process.pid}`,
    },
  };
}

let resolved;
module.exports = () => {
  resolved ??= resolve().catch((err) => {
    // osls prints `error.stack`: for a ConfigError the message (naming the bad key) is all there is to say.
    if (err?.name === 'ConfigError') err.stack = `${err.name}: ${err.message}`;
    throw err;
  });
  return resolved;
};
