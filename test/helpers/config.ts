import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';

/** A validated configuration from YAML text, with no environment leaking in from the shell. */
export function testConfig(yaml = '', env: NodeJS.ProcessEnv = {}): Readonly<Config> {
  return parseConfig(yaml, 'test.yaml', env);
}
