// A tiny app: reads its secrets once at start-up with loadSecrets (decrypted in memory only) and
// prints what it would connect to, never the secrets themselves.
import { loadSecrets } from 'coffer';
import type { Secrets } from './secrets.js';

const file = process.argv[2] ?? 'secrets/app.yaml';
const secrets = await loadSecrets<Secrets>(file);
const again = await loadSecrets<Secrets>(file); // served from the in-memory cache
console.log(
  JSON.stringify({
    database: secrets.database.url,
    pool: secrets.database.pool ?? 5,
    passwordLength: secrets.database.password.length,
    stripeKeyPrefix: secrets.stripe_key.slice(0, 8),
    sameValues: JSON.stringify(again) === JSON.stringify(secrets),
  }),
);
