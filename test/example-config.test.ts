import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../shared/config/load';

describe('shipped configs', () => {
  it.each(['sync.config.yml', 'sync.config.example.yml'])('%s is valid', (file) => {
    const config = loadConfigFile(resolve(__dirname, '..', file));
    expect(Object.keys(config.databases).length).toBeGreaterThan(0);
  });
});
