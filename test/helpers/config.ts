import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';

/**
 * A validated configuration from YAML text, with no environment leaking in from the shell.
 * A Leap key is set unless the test gives its own environment.
 */
export function testConfig(yaml = '', env: NodeJS.ProcessEnv = { LEAP_API_KEY: 'test-key:0123456789abcdef', LEAP_BASE_URL: 'http://127.0.0.1:9' }): Readonly<Config> {
  return parseConfig(yaml, 'test.yaml', env);
}
