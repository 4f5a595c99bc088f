// The MAC: SHA-512 over the plaintext bytes of the values, in file order (sops-format.md section 5).
import { createHash, type Hash } from 'node:crypto';

// SHA-256 of "sops": fed first when only encrypted values are MAC'ed, so the two modes never collide.
const MAC_ONLY_ENCRYPTED_PREFIX = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

export class MacAccumulator {
  private readonly hash: Hash = createHash('sha512');

  constructor(readonly macOnlyEncrypted: boolean) {
    if (macOnlyEncrypted) this.hash.update(MAC_ONLY_ENCRYPTED_PREFIX);
  }

  /** Adds one value's plaintext; clear values count only when the whole tree is MAC'ed. */
  add(plaintext: Uint8Array, encrypted: boolean): void {
    if (encrypted || !this.macOnlyEncrypted) this.hash.update(plaintext);
  }

  /** Upper-case hex, as SOPS stores it. */
  digest(): string {
    return this.hash.digest('hex').toUpperCase();
  }
}
