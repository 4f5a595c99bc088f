// Writes a git fast-import stream for bench/log.mjs: FILES secrets files of 10 values each, then
// COMMITS commits that each change one value of one file (the way coffer edits: stable ciphertext).
import { encryptDocument, openFile, sealFile } from '../src/file/secrets-file.js';
import { parseKeyPath, resolveKeyPath } from '../src/format/key-path.js';
import { getStore } from '../src/format/stores/index.js';
import { generateAgeIdentity } from '../src/keys/age.js';
import { nodeKeySources } from '../src/keys/identities.js';
import { createKeyRing } from '../src/keys/key-ring.js';

export async function writeHistory(files: number, commits: number, home: string): Promise<{ stream: string; identity: string }> {
  const key = await generateAgeIdentity();
  const keys = createKeyRing({ env: { SOPS_AGE_KEY: key.identity, HOME: home }, sources: { ...nodeKeySources(), homedir: home, env: { HOME: home } } });
  const plan = { groups: [{ age: [key.recipient], pgp: [] }] };
  const encoder = new TextEncoder();
  const texts: string[] = [];
  for (let file = 0; file < files; file++) {
    const plain = Array.from({ length: 10 }, (_, index) => `k${index}: value-${file}-${index}\n`).join('');
    texts.push(await encryptDocument(getStore('yaml').parse(plain, `f${file}.yaml`), `secrets/f${file}.yaml`, keys, { plan, now: new Date('2024-01-01T00:00:00Z') }));
  }
  let stream = '';
  for (let commit = 0; commit < commits; commit++) {
    const file = commit % files;
    const path = `secrets/f${file}.yaml`;
    if (commit >= files) {
      const opened = await openFile({ file: path, store: 'yaml', content: encoder.encode(texts[file]!) }, keys);
      const plain = opened.plain.clone();
      plain.setValue(resolveKeyPath(parseKeyPath(`k${Math.floor(commit / files) % 10}`), () => false), `value-${commit}`);
      texts[file] = sealFile(opened, plain, new Date(1_700_000_000_000 + commit * 3_600_000)) ?? texts[file]!;
    }
    const body = texts[file]!;
    const when = 1_700_000_000 + commit * 3600;
    const message = `c${commit}`;
    stream += `commit refs/heads/main\nauthor Dev${commit % 5} <dev${commit % 5}@example.com> ${when} +0000\ncommitter Dev${commit % 5} <dev${commit % 5}@example.com> ${when} +0000\ndata ${message.length}\n${message}\n`;
    stream += `M 100644 inline ${path}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  }
  return { stream, identity: key.identity };
}
