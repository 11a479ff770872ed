// Layering (README, Development): cli → compose → http → services → stores / clients, and every
// layer may use domain/. Only http/ imports express, only stores/ and db/ import knex, only
// clients/ import axios and bottleneck. The simulator (a fake Leap) and the sample receiver (the
// partner's side) stand apart from the connector and from each other. No import circles anywhere.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const restrict = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map(([names, message]) => ({ group: names, message })) }],
});
const EXPRESS = [['express', 'express-serve-static-core'], 'Only src/http (and the simulator) may import express.'];
const KNEX = [['knex', 'mysql2', 'better-sqlite3'], 'Only src/stores and src/db may import knex and database drivers.'];
const AXIOS = [['axios', 'bottleneck'], 'Only src/clients (and the simulator) may import axios and bottleneck.'];
const within = (...folders) => folders.flatMap((f) => [`**/${f}`, `**/${f}/**`]);
const OUTWARD = [within('http', 'services', 'stores', 'clients', 'db', 'config', 'compose', 'cli', 'mapping', 'simulator', 'receiver', 'logger'), 'domain/ is pure: it imports only other domain files.'];
const CONNECTOR = ['http', 'services', 'stores', 'clients', 'db', 'compose', 'cli', 'mapping'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    // Without the TypeScript extensions and parser the rule reads no .ts file and reports nothing.
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  { files: ['src/domain/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, OUTWARD) },
  { files: ['src/services/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, [within('http', 'compose', 'cli'), 'services depend on stores, clients and domain, never on http/ or the wiring above them.']) },
  { files: ['src/stores/**/*.ts', 'src/db/**/*.ts'], rules: restrict(EXPRESS, AXIOS, [within('http', 'services', 'clients', 'compose', 'cli'), 'stores depend on nothing above them.']) },
  { files: ['src/clients/**/*.ts'], rules: restrict(EXPRESS, KNEX, [within('http', 'services', 'stores', 'compose', 'cli'), 'clients depend on nothing above them.']) },
  { files: ['src/http/**/*.ts'], rules: restrict(KNEX, AXIOS, [within('stores', 'db', 'clients', 'compose', 'cli'), 'http/ calls services, never stores, db or clients directly.']) },
  { files: ['src/mapping/**/*.ts', 'src/config/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, [within('http', 'services', 'stores', 'clients', 'compose', 'cli'), 'mapping/ and config/ are read by the layers, never the other way.']) },
  { files: ['src/cli/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, [within('http'), 'commands reach the connector through compose/ and its services.']) },
  { files: ['src/simulator/**/*.ts'], rules: restrict(KNEX, [within(...CONNECTOR, 'receiver'), 'the simulator stands apart from the connector.']) },
  { files: ['src/receiver/**/*.ts'], rules: restrict(EXPRESS, KNEX, AXIOS, [within(...CONNECTOR, 'simulator', 'config'), "the sample receiver plays the partner's side: it uses only domain/ (signatures) and the logger."]) },
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
);
