/**
 * Attacks in word-embedding space and their controls:
 *   max_loss_increase  PGD's maximum loss increase in an l2 ball (Zhu et al., FreeLB, ICLR 2020;
 *                      Madry et al., ICLR 2018), the anchor's radius rule, the median embedding norm
 *   accuracy_under_pgd accuracy under PGD and the random control at a list of radii (no anchor)
 *   run                the whole protocol for a list of checkpoints, resumable (advlm attack --recipe pgd)
 *   random             random controls: a random direction of a given norm, a random point in the
 *                      ball, random signs
 *   budgets            worst over budgets, accuracy with a 95% interval over examples
 *   fgm_neighbours     FGM, then the nearest vocabulary words of every moved token
 *   random_direction_examples  the random-direction control of FGM over a list of sentences
 */
export * from './max_loss_increase';
export * from './accuracy_under_pgd';
export * from './run';
export * from './random';
export * from './budgets';
export * from './fgm_neighbours';
export * from './random_direction_examples';
