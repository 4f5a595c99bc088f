// What `coffer audit` reports: one finding per problem, with the commit that introduced it.
export const FINDING_KINDS = {
  'unsigned commit': 'verify',
  'unknown signer': 'verify',
  'bad signature': 'verify',
  'unverified signature': 'verify',
  'plaintext commit': 'verify',
  'mac failure': 'verify',
  'recipient without policy': 'verify',
  'production change by non-reader': 'anomaly',
  'mass change': 'anomaly',
  'change outside window': 'anomaly',
  'recipient added directly': 'anomaly',
  'revoked reader, not rotated': 'anomaly',
} as const;
export type FindingKind = keyof typeof FINDING_KINDS;

export interface AuditFinding {
  kind: FindingKind;
  commit: string;
  date: string;
  author: string;
  file?: string;
  /** Key paths concerned (never values). */
  keyPaths?: string[];
  /** Recipient names or keys concerned. */
  recipients?: string[];
  message: string;
}
