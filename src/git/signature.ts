// Who signed a commit, read from its signature without a keyring: the issuer fingerprint (or key
// ID) of an OpenPGP signature, or the public key inside an SSH signature. This names the key that
// claims to have signed; it does not check the signature's mathematics (`git verify-commit` does).

export interface CommitSigner {
  kind: 'pgp' | 'ssh' | 'unknown';
  /** PGP: the issuer fingerprint (upper-case hex) when present. */
  fingerprint?: string;
  /** PGP: the 16-hex-digit issuer key ID. */
  keyId?: string;
  /** SSH: `ssh-ed25519 AAAA...`. */
  publicKey?: string;
}

function dearmor(armored: string): Buffer | undefined {
  const lines = armored.trim().split(/\r?\n/);
  if (!lines[0]?.startsWith('-----BEGIN')) return undefined;
  const body: string[] = [];
  let inHeaders = !lines[0].includes('SSH SIGNATURE');
  for (const line of lines.slice(1)) {
    if (line.startsWith('-----END')) break;
    if (inHeaders) {
      if (line.trim() === '') inHeaders = false;
      continue;
    }
    if (line.startsWith('=')) break; // armor checksum
    body.push(line.trim());
  }
  return Buffer.from(body.join(''), 'base64');
}

function readSubpackets(bytes: Buffer, signer: CommitSigner): void {
  let offset = 0;
  while (offset < bytes.length) {
    const first = bytes[offset]!;
    let length: number;
    if (first < 192) {
      length = first;
      offset += 1;
    } else if (first < 255) {
      length = ((first - 192) << 8) + bytes[offset + 1]! + 192;
      offset += 2;
    } else {
      length = bytes.readUInt32BE(offset + 1);
      offset += 5;
    }
    const type = bytes[offset]! & 0x7f;
    const data = bytes.subarray(offset + 1, offset + length);
    if (type === 33 && data.length > 1) signer.fingerprint = data.subarray(1).toString('hex').toUpperCase();
    if (type === 16 && data.length === 8) signer.keyId = data.toString('hex').toUpperCase();
    offset += length;
  }
}

function readPgpSigner(packet: Buffer): CommitSigner {
  const signer: CommitSigner = { kind: 'pgp' };
  const tag = packet[0];
  if (tag === undefined || (tag & 0x80) === 0) return signer;
  let offset: number;
  if (tag & 0x40) {
    const first = packet[1]!;
    offset = first < 192 ? 2 : first < 224 ? 3 : 6;
  } else {
    const lengthType = tag & 0x03;
    offset = 1 + (lengthType === 0 ? 1 : lengthType === 1 ? 2 : lengthType === 2 ? 4 : 0);
  }
  const version = packet[offset];
  if (version !== 4) return signer;
  const hashedLength = packet.readUInt16BE(offset + 4);
  const hashedStart = offset + 6;
  readSubpackets(packet.subarray(hashedStart, hashedStart + hashedLength), signer);
  const unhashedLength = packet.readUInt16BE(hashedStart + hashedLength);
  readSubpackets(packet.subarray(hashedStart + hashedLength + 2, hashedStart + hashedLength + 2 + unhashedLength), signer);
  if (!signer.keyId && signer.fingerprint) signer.keyId = signer.fingerprint.slice(-16);
  return signer;
}

function readSshSigner(blob: Buffer): CommitSigner {
  // "SSHSIG", uint32 version, string publickey, ...
  if (blob.subarray(0, 6).toString('latin1') !== 'SSHSIG') return { kind: 'ssh' };
  const keyLength = blob.readUInt32BE(10);
  const key = blob.subarray(14, 14 + keyLength);
  const typeLength = key.readUInt32BE(0);
  const type = key.subarray(4, 4 + typeLength).toString('latin1');
  return { kind: 'ssh', publicKey: `${type} ${key.toString('base64')}` };
}

/** The key a commit signature names; `unknown` when it cannot be read. */
export function readCommitSigner(signature: string): CommitSigner {
  try {
    const bytes = dearmor(signature);
    if (!bytes || bytes.length === 0) return { kind: 'unknown' };
    if (signature.includes('BEGIN SSH SIGNATURE')) return readSshSigner(bytes);
    return readPgpSigner(bytes);
  } catch {
    return { kind: 'unknown' };
  }
}

/** Whether a signer is one of the allowed keys (PGP fingerprints, or SSH public keys `type base64`). */
export function isAllowedSigner(signer: CommitSigner, allowed: readonly string[]): boolean {
  if (signer.kind === 'ssh' && signer.publicKey) {
    const [type, key] = signer.publicKey.split(' ');
    return allowed.some((entry) => {
      const [entryType, entryKey] = entry.trim().split(/\s+/);
      return entryType === type && entryKey === key;
    });
  }
  if (signer.kind === 'pgp') {
    const normalised = allowed.map((entry) => entry.replace(/\s+/g, '').toUpperCase());
    if (signer.fingerprint) return normalised.includes(signer.fingerprint);
    if (signer.keyId) return normalised.some((entry) => entry.endsWith(signer.keyId!));
  }
  return false;
}
