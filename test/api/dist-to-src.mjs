// Preloaded (`node --import tsx --import ./test/api/dist-to-src.mjs`) to run an example against the
// TypeScript sources: its import of the built library (../dist/esm/index.js) resolves to src/index.ts
// instead, so the test needs no build (and never races one).
import { register } from 'node:module';

const source = new URL('../../src/index.ts', import.meta.url).href;
const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier.endsWith('/dist/esm/index.js')) return next(${JSON.stringify(source)}, context);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
