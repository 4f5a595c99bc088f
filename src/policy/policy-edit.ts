// Text edits of coffer.yaml that keep its comments and layout (yaml's Document API): what
// `coffer revoke` does to the policy.

import { isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from 'yaml';
import { CofferError } from '../errors.js';
import { type CofferConfig, parseCofferConfig } from './coffer-config.js';

export interface PolicyEdit {
  text: string;
  /** What changed, one line each (`groups.developers: removed alice`). */
  changes: string[];
}

function removeFrom(seq: YAMLSeq, name: string): boolean {
  const before = seq.items.length;
  seq.items = seq.items.filter((item) => !(isScalar(item) && item.value === name));
  return seq.items.length !== before;
}

/** coffer.yaml without a recipient: its entry and every mention in groups, readers, key groups and owners. */
export function removeRecipientFromPolicy(config: CofferConfig, text: string, name: string): PolicyEdit {
  const document = parseDocument(text);
  const changes: string[] = [];
  const emptied: string[] = [];
  const recipients = document.get('recipients', true);
  if (isMap(recipients) && recipients.delete(name)) changes.push(`recipients: removed ${name}`);
  const groups = document.get('groups', true);
  if (isMap(groups)) {
    for (const pair of groups.items) {
      const group = String(isScalar(pair.key) ? pair.key.value : '');
      if (isSeq(pair.value) && removeFrom(pair.value, name)) {
        changes.push(`groups.${group}: removed ${name}`);
        if (pair.value.items.length === 0) emptied.push(`group "${group}"`);
      }
    }
  }
  const environments = document.get('environments', true);
  if (isMap(environments)) {
    for (const pair of environments.items) {
      const environment = String(isScalar(pair.key) ? pair.key.value : '');
      if (!isMap(pair.value)) continue;
      for (const field of ['readers', 'owners'] as const) {
        const list = pair.value.get(field, true);
        if (isSeq(list) && removeFrom(list, name)) {
          changes.push(`environments.${environment}.${field}: removed ${name}`);
          if (list.items.length === 0) emptied.push(`environments.${environment}.${field}`);
        }
      }
      const keyGroups = pair.value.get('key_groups', true);
      if (isSeq(keyGroups)) {
        keyGroups.items.forEach((group, index) => {
          if (isSeq(group) && removeFrom(group, name)) {
            changes.push(`environments.${environment}.key_groups[${index}]: removed ${name}`);
            if (group.items.length === 0) emptied.push(`environments.${environment}.key_groups[${index}]`);
          }
        });
      }
    }
  }
  if (emptied.length > 0) {
    throw new CofferError('CONFIG_INVALID', `removing "${name}" would leave ${emptied.join(', ')} empty`, {
      hints: ['add another recipient there first (and run `coffer updatekeys --all`), or remove the empty entry from coffer.yaml'],
      data: { file: config.path, name, emptied },
    });
  }
  const updated = document.toString({ lineWidth: 0 });
  // whatever is left must still be a valid policy (e.g. a reader list that now resolves to nobody)
  try {
    parseCofferConfig(updated, config.path, config.dir);
  } catch (error) {
    if (!(error instanceof CofferError)) throw error;
    throw new CofferError('CONFIG_INVALID', `removing "${name}" would make coffer.yaml invalid: ${error.message.replace(`${config.path}:`, 'line ')}`, {
      hints: error.hints,
      data: { file: config.path, name },
    });
  }
  return { text: updated, changes };
}
