#!/usr/bin/env node
'use strict';
require('../dist/cjs/api/cli.js').main(process.argv.slice(2));
