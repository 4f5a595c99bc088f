// Decrypts a SOPS YAML file with the npm reader sops-age and prints it as JSON: the bench's
// reference point, run as its own process so it pays the same start-up as `coffer decrypt`.
// Usage: node bench/sops-age-decrypt.mjs FILE KEY_FILE
import { readFileSync } from 'node:fs';
import { decryptSops } from 'sops-age';

const [file, keyFile] = process.argv.slice(2);
const secretKey = readFileSync(keyFile, 'utf8')
  .split('\n')
  .find((line) => line.startsWith('AGE-SECRET-KEY-'));
const data = await decryptSops(readFileSync(file, 'utf8'), { secretKey, fileType: 'yaml' });
process.stdout.write(JSON.stringify(data));
