// Copies what the compiled app reads at run time next to it in dist/: the SQL migrations and
// the sandbox page. `npm run build` runs it after tsc.
import { cpSync } from 'node:fs';

cpSync('db/migrations', 'dist/db/migrations', { recursive: true });
cpSync('src/sandbox/page', 'dist/src/sandbox/page', { recursive: true });
