// `npm run demo`: a full coffer round trip on a temporary copy of examples/, printing each step as
// the shell command it stands for, then its output. Every value is a fake from examples/. The
// committed files are never modified; the developer's own keys (~/.config/sops) are never used.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const coffer = join(root, 'bin', 'coffer.js');
const temp = mkdtempSync(join(tmpdir(), 'coffer-demo-'));
const repo = join(temp, 'examples');
const home = join(temp, 'home');

// A clean environment: no key or config of the developer's leaks in, and no terminal.
const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), SOPS_AGE_KEY_FILE: 'keys/dev.test-key.txt', NO_COLOR: '1' };
for (const name of ['SOPS_AGE_KEY', 'SOPS_AGE_KEY_CMD', 'SOPS_AGE_RECIPIENTS', 'SOPS_CONFIG', 'VISUAL', 'EDITOR']) delete env[name];

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

function heading(text) {
  console.log(`\n${bold(`## ${text}`)}`);
}

function indent(text) {
  return text.replace(/\n$/, '').replace(/^/gm, '    ');
}

/**
 * Runs one step and prints it. `shown` is the command as a user would type it; `argv` is what runs
 * (`coffer` stands for `node bin/coffer.js`). Fails the demo unless the exit code is `expect`.
 */
function run(shown, argv, { input, expect = 0, extraEnv = {} } = {}) {
  console.log(bold(`$ ${shown}`));
  const [command, ...args] = argv[0] === 'coffer' ? [process.execPath, coffer, ...argv.slice(1)] : argv;
  const result = spawnSync(command, args, { cwd: repo, env: { ...env, ...extraEnv }, input: input ?? '', encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.stdout) console.log(indent(result.stdout));
  if (result.stderr) console.log(indent(result.stderr));
  if (result.status !== expect) {
    throw new Error(`step failed: \`${shown}\` exited with ${result.status}, expected ${expect}`);
  }
  if (expect !== 0) console.log(`    (exit code ${result.status}, as expected)`);
  return result.stdout;
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`    ok: ${message}`);
}

function git(...args) {
  return ['git', '-c', 'init.defaultBranch=main', '-c', 'user.name=coffer demo', '-c', 'user.email=demo@example.invalid', '-c', 'core.pager=cat', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args];
}

function main() {
  console.log('coffer demo: a round trip on a temporary copy of examples/ (all values are fakes)');
  console.log(`working in ${repo}; \`coffer\` below is \`node bin/coffer.js\``);
  cpSync(join(root, 'examples'), repo, { recursive: true });
  mkdirSync(home, { recursive: true });
  // git does not keep file modes: key files are private again in the copy.
  for (const key of ['dev', 'prod']) chmodSync(join(repo, 'keys', `${key}.test-key.txt`), 0o600);
  run('git init -q', git('init', '-q'));
  run('git add -A', git('add', '-A'));
  run('git commit -qm examples', git('commit', '-qm', 'examples'));
  console.log(`    SOPS_AGE_KEY_FILE=${env.SOPS_AGE_KEY_FILE} (the dev test key)`);

  heading('1. make a new test key (age-keygen format, created 0600)');
  run('coffer keygen -o keys/alice.test-key.txt', ['coffer', 'keygen', '-o', 'keys/alice.test-key.txt']);
  const aliceKey = readFileSync(join(repo, 'keys', 'alice.test-key.txt'), 'utf8');
  const alice = /^# public key: (age1[0-9a-z]+)$/m.exec(aliceKey)?.[1];
  check(alice !== undefined, 'the key file names its public key');
  run('coffer keygen -o keys/alice.test-key.txt   # again', ['coffer', 'keygen', '-o', 'keys/alice.test-key.txt'], { expect: 1 });

  heading('2. encrypt a plaintext file (recipients from .sops.yaml: secrets/.*\\.env$)');
  run('cp plain/local.env secrets/local.env', ['cp', 'plain/local.env', 'secrets/local.env']);
  run('coffer encrypt --in-place secrets/local.env', ['coffer', 'encrypt', '--in-place', 'secrets/local.env']);
  const encryptedEnv = readFileSync(join(repo, 'secrets', 'local.env'), 'utf8');
  console.log(indent(encryptedEnv.split('\n').slice(0, 3).join('\n').replace(/(data:[^,]{12})[^,]*/g, '$1...')));
  check(!encryptedEnv.includes('ghp_FAKE'), 'no plaintext value is left in secrets/local.env');
  run('git add secrets/local.env', git('add', 'secrets/local.env'));
  run('git commit -qm "add local.env"', git('commit', '-qm', 'add local.env'));

  heading('3. set one value from stdin: the diff is exactly 3 lines (value, lastmodified, mac)');
  run("printf %s 'rotated-fake-password' | coffer set secrets/dev.yaml database.password", ['coffer', 'set', 'secrets/dev.yaml', 'database.password'], {
    input: 'rotated-fake-password',
  });
  run('git diff --stat secrets/dev.yaml', git('diff', '--stat', 'secrets/dev.yaml'));
  const diff = run('git diff -U0 secrets/dev.yaml', git('diff', '-U0', 'secrets/dev.yaml'));
  const changed = diff.split('\n').filter((line) => /^[+-](?![+-]{2} )/.test(line));
  check(changed.length === 6 && /^-\s+password:/.test(changed[0] ?? ''), '3 lines removed, 3 lines added, starting with database.password');
  run('git commit -qam "rotate the dev database password"', git('commit', '-qam', 'rotate the dev database password'));
  run("printf %s 'rotated-fake-password' | coffer set secrets/dev.yaml database.password   # same value again", ['coffer', 'set', 'secrets/dev.yaml', 'database.password'], {
    input: 'rotated-fake-password',
  });
  const status = run('git status --short secrets/', git('status', '--short', 'secrets/'));
  check(status === '', 'setting the same value leaves the file byte-identical (git sees no change)');

  heading('4. decrypt and get');
  run('coffer decrypt secrets/dev.yaml', ['coffer', 'decrypt', 'secrets/dev.yaml']);
  run('coffer decrypt --extract \'["stripe"]["secret_key"]\' secrets/dev.yaml', ['coffer', 'decrypt', '--extract', '["stripe"]["secret_key"]', 'secrets/dev.yaml']);
  const password = run('coffer get secrets/dev.yaml database.password', ['coffer', 'get', 'secrets/dev.yaml', 'database.password']);
  check(password === 'rotated-fake-password', 'get prints the value set in step 3, with no trailing newline (stdout is not a terminal)');

  heading('5. exec: values as environment variables, nothing written to disk');
  const script = "console.log('GITHUB_TOKEN is set, length', process.env.GITHUB_TOKEN.length)";
  run(`coffer exec secrets/local.env -- node -e "${script}"`, ['coffer', 'exec', 'secrets/local.env', '--', process.execPath, '-e', script]);
  run('coffer exec secrets/local.env -- node -e "process.exit(7)"   # the exit code passes through', ['coffer', 'exec', 'secrets/local.env', '--', process.execPath, '-e', 'process.exit(7)'], {
    expect: 7,
  });

  heading('6. exec-file: the decrypted file through a FIFO at {}');
  const reader = "const fs=require('fs'); const t=fs.readFileSync(process.argv[1],'utf8'); console.log('read', t.split('\\n').length-1, 'lines; a FIFO, not a file:', fs.statSync(process.argv[1]).isFIFO())";
  run(`coffer exec-file secrets/dev.yaml -- node -e "${reader}" {}`, ['coffer', 'exec-file', 'secrets/dev.yaml', '--', process.execPath, '-e', reader, '{}']);

  heading("7. updatekeys: give alice access (same data key, values untouched)");
  const config = readFileSync(join(repo, '.sops.yaml'), 'utf8');
  const devRule = /(path_regex: secrets\/dev\\\.yaml\$\n\s+age: )(age1[0-9a-z]+)/;
  check(devRule.test(config), '.sops.yaml has the dev rule');
  writeFileSync(join(repo, '.sops.yaml'), config.replace(devRule, `$1$2,${alice}`));
  run('git diff -U0 .sops.yaml   # alice\'s public key added to the dev rule', git('diff', '-U0', '.sops.yaml'));
  run(`SOPS_AGE_KEY_FILE=keys/alice.test-key.txt coffer get secrets/dev.yaml app.name   # not yet`, ['coffer', 'get', 'secrets/dev.yaml', 'app.name'], {
    expect: 1,
    extraEnv: { SOPS_AGE_KEY_FILE: 'keys/alice.test-key.txt' },
  });
  run('coffer updatekeys -y secrets/dev.yaml', ['coffer', 'updatekeys', '-y', 'secrets/dev.yaml']);
  run('git diff --stat secrets/dev.yaml', git('diff', '--stat', 'secrets/dev.yaml'));
  const asAlice = run('SOPS_AGE_KEY_FILE=keys/alice.test-key.txt coffer get secrets/dev.yaml app.name', ['coffer', 'get', 'secrets/dev.yaml', 'app.name'], {
    extraEnv: { SOPS_AGE_KEY_FILE: 'keys/alice.test-key.txt' },
  });
  check(asAlice === 'shop', 'alice can read the file now');
  run('git commit -qam "give alice access to dev"', git('commit', '-qam', 'give alice access to dev'));

  heading('8. rotate: a new data key, every value re-encrypted');
  run('coffer rotate secrets/dev.yaml', ['coffer', 'rotate', 'secrets/dev.yaml']);
  run('git diff --stat secrets/dev.yaml', git('diff', '--stat', 'secrets/dev.yaml'));
  const afterRotate = run('coffer get secrets/dev.yaml database.password', ['coffer', 'get', 'secrets/dev.yaml', 'database.password']);
  check(afterRotate === 'rotated-fake-password', 'the values are the same after rotation');

  heading('9. tamper check: one changed byte in a ciphertext fails with exit code 3');
  const dev = readFileSync(join(repo, 'secrets', 'dev.yaml'), 'utf8');
  const tampered = dev.replace(/(\n\s+password: ENC\[AES256_GCM,data:)(.)/, (_match, prefix, char) => prefix + (char === 'A' ? 'B' : 'A'));
  check(tampered !== dev, 'flipped one byte of database.password in a copy');
  writeFileSync(join(repo, 'secrets', 'tampered.yaml'), tampered);
  run('coffer decrypt secrets/tampered.yaml', ['coffer', 'decrypt', 'secrets/tampered.yaml'], { expect: 3 });

  rmSync(join(repo, 'secrets', 'tampered.yaml'));

  heading('10. policy as code: coffer.yaml names the people, environments say who reads what');
  const recipientOf = (name) => readFileSync(join(repo, 'keys', `${name}.test-key.txt`), 'utf8').match(/public key: (age1[0-9a-z]+)/)[1];
  const [devKey, prodKey] = [recipientOf('dev'), recipientOf('prod')];
  run('coffer init --from-sops --recipient dev=age1... --recipient prod=age1... --recipient alice=age1...', [
    'coffer', 'init', '--from-sops', '--recipient', `dev=${devKey}`, '--recipient', `prod=${prodKey}`, '--recipient', `alice=${alice}`,
  ]);
  run('coffer access   # computed from each file\'s own metadata', ['coffer', 'access']);
  run('coffer explain secrets/dev.yaml', ['coffer', 'explain', 'secrets/dev.yaml']);
  run('git add -A', git('add', '-A'));
  run('git commit -qm "adopt coffer.yaml"', git('commit', '-qm', 'adopt coffer.yaml'));

  heading('11. revoke: alice leaves; every file she could read gets a new data key');
  run('coffer revoke alice --dry-run', ['coffer', 'revoke', 'alice', '--dry-run']);
  run('coffer revoke alice', ['coffer', 'revoke', 'alice']);
  run('git diff --stat', git('diff', '--stat'));
  run('SOPS_AGE_KEY_FILE=keys/alice.test-key.txt coffer get secrets/dev.yaml app.name   # no longer', ['coffer', 'get', 'secrets/dev.yaml', 'app.name'], {
    expect: 1,
    extraEnv: { SOPS_AGE_KEY_FILE: 'keys/alice.test-key.txt' },
  });
  const stillReadable = run('coffer get secrets/dev.yaml database.password', ['coffer', 'get', 'secrets/dev.yaml', 'database.password']);
  check(stillReadable === 'rotated-fake-password', 'the remaining readers see the same values');

  console.log(`\n${bold('demo finished: every step behaved as expected')}`);
}

try {
  main();
} catch (error) {
  console.error(`\ndemo FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(temp, { recursive: true, force: true });
}
