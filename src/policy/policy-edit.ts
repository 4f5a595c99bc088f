// Text edits of coffer.yaml that keep everything else byte for byte: the yaml package finds the
// nodes (with their source ranges), and only those spans of the original text are cut out, so
// comments, quoting and layout stay as the reviewer wrote them.

import { isMap, isScalar, isSeq, type Node, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { CofferError } from '../errors.js';
import { type CofferConfig, parseCofferConfig } from './coffer-config.js';

export interface PolicyEdit {
  text: string;
  /** What changed, one line each (`groups.developers: removed alice`). */
  changes: string[];
}

type Cut = [start: number, end: number];

/** The span of whole lines from the line holding `start` to the end of the line holding `end - 1`. */
function wholeLines(text: string, start: number, end: number): Cut {
  const from = text.lastIndexOf('\n', start - 1) + 1;
  if (text[end - 1] === '\n') return [from, end];
  const newline = text.indexOf('\n', end);
  return [from, newline < 0 ? text.length : newline + 1];
}

/** Cuts removing the items equal to `name` from a sequence (flow `[a, b]` or block `- a`). */
function cutsFromSeq(text: string, seq: YAMLSeq, name: string): Cut[] {
  const items = seq.items as Node[];
  const cuts: Cut[] = [];
  items.forEach((item, index) => {
    if (!isScalar(item) || item.value !== name || !item.range) return;
    if (!seq.flow) {
      cuts.push(wholeLines(text, item.range[0], item.range[1]));
      return;
    }
    const next = items[index + 1]?.range;
    const previous = items[index - 1]?.range;
    if (next) cuts.push([item.range[0], next[0]]);
    else if (previous) cuts.push([previous[1], item.range[1]]);
    else cuts.push([item.range[0], item.range[1]]);
  });
  return cuts;
}

function cutPair(text: string, map: YAMLMap, key: string): Cut | undefined {
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  const keyRange = (pair?.key as Node | undefined)?.range;
  const valueRange = (pair?.value as Node | undefined)?.range;
  if (!pair || !keyRange || map.flow) return undefined;
  return wholeLines(text, keyRange[0], valueRange ? valueRange[1] : keyRange[1]);
}

/** coffer.yaml without a recipient: its entry and every mention in groups, readers, key groups and owners. */
export function removeRecipientFromPolicy(config: CofferConfig, text: string, name: string): PolicyEdit {
  const document = parseDocument(text);
  const changes: string[] = [];
  const emptied: string[] = [];
  const cuts: Cut[] = [];
  const fromSeq = (seq: unknown, where: string) => {
    if (!isSeq(seq)) return;
    const found = cutsFromSeq(text, seq, name);
    if (found.length === 0) return;
    cuts.push(...found);
    changes.push(`${where}: removed ${name}`);
    if (seq.items.length === found.length) emptied.push(where);
  };
  const recipients = document.get('recipients', true);
  if (isMap(recipients)) {
    const cut = cutPair(text, recipients, name);
    if (!cut) throw new CofferError('CONFIG_INVALID', `${config.path}: cannot remove "${name}": write recipients: as a block map (one recipient per line)`, { data: { file: config.path } });
    cuts.push(cut);
    changes.push(`recipients: removed ${name}`);
  }
  const groups = document.get('groups', true);
  if (isMap(groups)) for (const pair of groups.items) fromSeq(pair.value, `groups.${String(isScalar(pair.key) ? pair.key.value : '')}`);
  const environments = document.get('environments', true);
  if (isMap(environments)) {
    for (const pair of environments.items) {
      const environment = String(isScalar(pair.key) ? pair.key.value : '');
      if (!isMap(pair.value)) continue;
      for (const field of ['readers', 'owners'] as const) fromSeq(pair.value.get(field, true), `environments.${environment}.${field}`);
      const keyGroups = pair.value.get('key_groups', true);
      if (isSeq(keyGroups)) {
        for (const [index, group] of keyGroups.items.entries()) fromSeq(group, `environments.${environment}.key_groups[${index}]`);
      }
    }
  }
  if (emptied.length > 0) {
    throw new CofferError('CONFIG_INVALID', `removing "${name}" would leave ${emptied.map((where) => where.replace(/^groups\./, 'group ')).join(', ')} empty`, {
      hints: ['add another recipient there first (and run `coffer updatekeys --all`), or remove the empty entry from coffer.yaml'],
      data: { file: config.path, name, emptied },
    });
  }
  let updated = text;
  for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) updated = updated.slice(0, start) + updated.slice(end);
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
