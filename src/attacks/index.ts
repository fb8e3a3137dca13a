/** Attacks: one export line per family. */
export * from './embedding';
export * from './word';
export * from './pgd_linf';
