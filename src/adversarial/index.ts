export * from './perturbation';
export * from './fgsm';
export * from './embedding_fgsm';
export * from './methods';
