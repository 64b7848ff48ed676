// The command line lives in src/cli/; this path stays for the scripts that check dist/cjs/api/cli.js.
export { main } from '../cli/main.js';
