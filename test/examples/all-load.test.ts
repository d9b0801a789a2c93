import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEnvoyConfig } from '../../src/envoy/index.js';
import { loadPolicy } from '../../src/index.js';

// Every example a reader may copy must load as it is.
const yaml = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => `${dir}/${f}`);

describe('examples', () => {
  for (const file of [...yaml('examples'), ...yaml('examples/gateway')]) {
    it(`${file} is a valid Sluice policy`, () => {
      expect(loadPolicy(file).rules.length).toBeGreaterThan(0);
    });
  }
  for (const file of yaml('examples/envoy')) {
    it(`${file} is a valid Envoy config`, () => {
      expect(() => loadEnvoyConfig(file)).not.toThrow();
    });
  }
});
