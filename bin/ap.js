#!/usr/bin/env node
// Entry point of the `ap` CLI: runs the TypeScript sources through tsx, so there is no build step.
require('tsx/cjs');
require('../src/cli/main.ts');
