// coffer's version: printed by --version, written into SARIF reports, part of cache keys.
export const VERSION = '0.1.0';
