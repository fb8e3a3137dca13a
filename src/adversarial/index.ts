export * from './perturbation';
export * from './fgsm';
