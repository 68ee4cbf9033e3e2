#!/usr/bin/env node
// The `cdc-mirror` command (package.json "bin"): the TypeScript in cli/ run through tsx.
'use strict';
require('tsx/cjs');
require('../cli/main.ts').run();
