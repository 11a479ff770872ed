// Layering: http → services → stores / clients; everything may use domain/. Only http/ imports
// express, only stores/ and db/ import knex, only clients/ import axios and bottleneck.
// The simulator is a separate world (a fake Leap) and may use express and axios.
import tseslint from 'typescript-eslint';

const restrict = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map(([names, message]) => ({ group: names, message })) }],
});
const EXPRESS = [['express', 'express-serve-static-core'], 'Only src/http (and the simulator) may import express.'];
const KNEX = [['knex', 'mysql2', 'better-sqlite3'], 'Only src/stores and src/db may import knex and database drivers.'];
const AXIOS = [['axios', 'bottleneck'], 'Only src/clients (and the simulator) may import axios and bottleneck.'];
const OUTWARD = [['**/http/*', '**/services/*', '**/stores/*', '**/clients/*', '**/db/*', '**/config/*', '**/compose', '**/logger', '**/mapping/*'], 'domain/ is pure: it imports only other domain files.'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  { files: ['src/domain/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, OUTWARD) },
  { files: ['src/services/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, [['**/http/*'], 'services must not depend on http/.']) },
  { files: ['src/stores/**/*.ts', 'src/db/**/*.ts'], rules: restrict(EXPRESS, AXIOS, [['**/http/*', '**/services/*'], 'stores depend on nothing above them.']) },
  { files: ['src/clients/**/*.ts'], rules: restrict(EXPRESS, KNEX, [['**/http/*', '**/services/*', '**/stores/*'], 'clients depend on nothing above them.']) },
  { files: ['src/http/**/*.ts'], rules: restrict(KNEX, AXIOS, [['**/stores/*', '**/db/*', '**/clients/*'], 'http/ calls services, never stores, db or clients directly.']) },
  { files: ['src/mapping/**/*.ts', 'src/config/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS) },
  { files: ['src/simulator/**/*.ts'], rules: restrict(KNEX, [['**/http/*', '**/services/*', '**/stores/*', '**/clients/*'], 'the simulator stands apart from the connector.']) },
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
);
