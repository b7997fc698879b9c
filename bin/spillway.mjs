#!/usr/bin/env node
// Installed entry point: runs the compiled CLI in dist/ (`npm run build`, run by `npm ci`, `npm install` and `npm pack`).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/main.js')) throw e;
  process.stderr.write('spillway: dist/ is missing: run `npm run build` in this checkout (or `npm run spillway -- ...`, which runs the sources)\n');
  process.exit(2);
}
await cli.main();
