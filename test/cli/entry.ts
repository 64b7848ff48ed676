// The command line from the TypeScript sources, as a script file (run with `node --import tsx`): cluster
// workers re-run the primary's script, so `serve --workers` cannot be started through `node -e`.
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2), JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
