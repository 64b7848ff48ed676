// The command line from the TypeScript sources, as a script file (run with `node --import tsx`): cluster
// workers re-run the primary's script, so `serve --workers` cannot be started through `node -e`.
import { main } from '../../src/api/cli.js';

main(process.argv.slice(2));
