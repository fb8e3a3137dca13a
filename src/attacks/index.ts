/** Attacks: one export line per family. */
export * from './embedding';
export * from './word';
