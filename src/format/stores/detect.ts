// Which store a file is, from its name alone: kept apart from the stores themselves, so code that
// only needs to know (verify answering from its cache) does not load the parsers.
import type { StoreName } from '../tree.js';

/** From the extension as SOPS does: .yaml/.yml -> yaml, .json -> json, .env -> dotenv, .ini -> ini, anything else -> binary. */
export function detectStore(filePath: string): StoreName {
  const name = filePath.replace(/^.*[\\/]/, '');
  const dot = name.lastIndexOf('.');
  const extension = dot < 0 ? '' : name.slice(dot); // case-sensitive, like SOPS
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  if (extension === '.json') return 'json';
  if (extension === '.env') return 'dotenv';
  if (extension === '.ini') return 'ini';
  return 'binary';
}
