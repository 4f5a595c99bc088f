// The string formats user schemas may name (ajv's own format plugin is not bundled). Shared by the
// ajv compile in user-schema.ts and the cached validator code in schema-cache.ts, which calls them
// through require("coffer:formats").
import { isIPv4, isIPv6 } from 'node:net';

export const FORMATS: Record<string, RegExp | ((text: string) => boolean)> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  hostname: /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i,
  date: /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/,
  'date-time': /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/,
  ipv4: (text) => isIPv4(text),
  ipv6: (text) => isIPv6(text),
  uri: (text) => {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(text)) return false;
    try {
      new URL(text);
      return true;
    } catch {
      return false;
    }
  },
};
