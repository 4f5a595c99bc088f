// The whole error vocabulary of coffer. Messages never contain plaintext values, secret keys or
// whole input lines: they name the file, the key path and what to do next.

/** Exit codes, one table for the CLI and the Action (the README lists them). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  integrity: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable error codes; scripts may match on them (`--json` prints them). */
export const ErrorCodes = {
  // usage and configuration (exit 2)
  USAGE: ExitCode.usage,
  INVALID_KEY_PATH: ExitCode.usage,
  CONFIG_INVALID: ExitCode.usage,
  CONFIG_NOT_FOUND: ExitCode.usage,
  INVALID_RECIPIENT: ExitCode.usage,
  NO_RECIPIENTS: ExitCode.usage,
  UNKNOWN_STORE: ExitCode.usage,
  GITHUB_TOKEN_MISSING: ExitCode.usage,
  // the operation failed (exit 1)
  FILE_NOT_FOUND: ExitCode.failed,
  FILE_UNREADABLE: ExitCode.failed,
  WRITE_FAILED: ExitCode.failed,
  LOCK_TIMEOUT: ExitCode.failed,
  KEY_FILE_UNREADABLE: ExitCode.failed,
  KEY_FILE_EXISTS: ExitCode.failed,
  NO_MATCHING_IDENTITY: ExitCode.failed,
  UNSUPPORTED_KEY_SOURCE: ExitCode.failed,
  KEY_SOURCE_FAILED: ExitCode.failed,
  KEY_NOT_FOUND: ExitCode.failed,
  PARSE_ERROR: ExitCode.failed,
  NOT_ENCRYPTED: ExitCode.failed,
  ALREADY_ENCRYPTED: ExitCode.failed,
  EDITOR_FAILED: ExitCode.failed,
  COMMAND_FAILED: ExitCode.failed,
  INPUT_TOO_LARGE: ExitCode.failed,
  UNSUPPORTED_VALUE: ExitCode.failed,
  GITHUB_REQUEST_FAILED: ExitCode.failed,
  GITHUB_PERMISSION_DENIED: ExitCode.failed,
  BRANCH_PROTECTED: ExitCode.failed,
  BRANCH_CONFLICT: ExitCode.failed,
  PUSH_FAILED: ExitCode.failed,
  // integrity: the file is damaged, tampered with or not what it claims (exit 3)
  MALFORMED_ENCRYPTED_VALUE: ExitCode.integrity,
  DECRYPTION_FAILED: ExitCode.integrity,
  VALUE_NOT_ENCRYPTED: ExitCode.integrity,
  MAC_MISMATCH: ExitCode.integrity,
  MAC_MISSING: ExitCode.integrity,
  METADATA_INVALID: ExitCode.integrity,
  UNSUPPORTED_VERSION: ExitCode.integrity,
  DATA_KEY_INVALID: ExitCode.integrity,
  // a bug in coffer
  INTERNAL: ExitCode.failed,
} as const satisfies Record<string, ExitCode>;
export type ErrorCode = keyof typeof ErrorCodes;

export interface CofferErrorOptions {
  /** What to do next; each hint names the exact flag or command. */
  hints?: string[];
  /** Structured context for `--json` output (file, key path, line...). Never secrets. */
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class CofferError extends Error {
  readonly code: ErrorCode;
  readonly hints: string[];
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CofferErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CofferError';
    this.code = code;
    this.hints = options.hints ?? [];
    this.data = options.data ?? {};
  }

  get exitCode(): ExitCode {
    return ErrorCodes[this.code];
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hints: this.hints, ...this.data };
  }
}

/** Raised when no available identity unwraps the data key; lists what was tried (never key material). */
export class NoIdentityMatchError extends CofferError {
  readonly recipients: string[];
  readonly tried: string[];

  constructor(file: string | undefined, recipients: string[], tried: string[], hints: string[] = []) {
    const where = file ? `${file}: ` : '';
    super(
      'NO_MATCHING_IDENTITY',
      `${where}no identity could unwrap the data key (file recipients: ${recipients.join(', ') || 'none'}; tried: ${tried.join(', ') || 'nothing'})`,
      {
        hints: hints.length
          ? hints
          : [
              'set SOPS_AGE_KEY_FILE to the key file of one of the recipients, or pass --identity FILE',
              'run `coffer keygen` and ask a current recipient to add your public key (`coffer updatekeys`)',
            ],
        data: { file, recipients, tried },
      },
    );
    this.name = 'NoIdentityMatchError';
    this.recipients = recipients;
    this.tried = tried;
  }
}

export function isCofferError(error: unknown): error is CofferError {
  return error instanceof CofferError;
}
