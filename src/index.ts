// The public library API of coffer. Everything else is internal and may change.
export { CofferError, type ErrorCode, ExitCode, NoIdentityMatchError } from './errors.js';
export type { KeyRing, RecipientPlan } from './file/key-ring.js';
export { type DecryptedFile, type DecryptFileOptions, decryptFile } from './file/load.js';
export { encryptDocument, type OpenedFile, openFile, rotateDataKey, sealFile, updateRecipients } from './file/secrets-file.js';
export { detectStore, getStore } from './format/stores/index.js';
export { type PlainMap, type PlainValue, type ScalarValue, type StoreDocument, type StoreName, TimeValue } from './format/tree.js';
export { createKeyRing, type KeyRingOptions } from './keys/key-ring.js';
export { clearSecretsCache, type LoadSecretsOptions, loadSecrets, type SecretsObject, type SecretsValue } from './sdk/load-secrets.js';
