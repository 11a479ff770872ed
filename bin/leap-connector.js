#!/usr/bin/env node
'use strict';
// The TypeScript sources run directly through tsx's require hook; `npm run build` is optional.
require('tsx/cjs');
require('../src/main.ts').main(process.argv);
