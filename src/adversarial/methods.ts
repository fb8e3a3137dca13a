/**
 * Every training method, registered: import methods from here so that `methodFromJson(name, config)`
 * knows all of them. One file per method, named after its paper.
 */
export * from './method';
export * from './registry';
export { vanilla } from './vanilla';
export { gaussianNoise, GaussianNoiseConfig } from './gaussian_noise';
export { pgd, pgdAscent, pgdStep, PgdConfig, PgdAscentOptions, PgdAscentResult, PGD_DEFAULTS, PGD_REFERENCE_SST2 } from './pgd_madry_2018';
export { freelb, freelbStep, FreeLBConfig, FREELB_DEFAULTS, FREELB_REFERENCE_SST2 } from './freelb_zhu_2020';
export { freeat, freeatReplay, fitCarriedDelta, FreeATConfig, FREEAT_DEFAULTS, FREEAT_REFERENCE_SST2 } from './freeat_shafahi_2019';
export { yopo, yopoStep, firstLayer, YopoConfig, YopoStepOptions, YOPO_DEFAULTS } from './yopo_zhang_2019';
export { alum, alumStep, AlumConfig, AlumStepOptions, ALUM_DEFAULTS } from './alum_liu_2020';
export { smartSymmetricKl, smartAdversarialTerm, ascentObjective } from './smart_loss';
export { ascc, asccAttack, asccTrainStep, asccMinibatch, candidatesOf, candidateArrays, neighbourTable, meanWeightEntropy, convexWeights, combinedEmbeddings, kaimingW0, AsccConfig, ASCC_DEFAULTS, NeighbourTable, Candidates } from './ascc_dong_2021';
export { rift, infoNce, classConditionalInfoNce, classBalancedBatches, classGroups, initRiftHeads, projectHead, RiftConfig, RiftHeads, RIFT_DEFAULTS } from './rift_dong_2021';
