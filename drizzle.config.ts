import { defineConfig } from 'drizzle-kit';

// Used by `npm run db:generate` to write SQL migrations from db/schema.ts. Generating needs no
// database connection; migrations are applied by the app at start-up and by `npm run db:migrate`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
  dbCredentials: {
    url: 'postgres://localhost:5432/pim',
  },
});
