/** Attacks: one export line per family. */
export * from './word';
