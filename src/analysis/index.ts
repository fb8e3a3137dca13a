/** Analysis helpers for embeddings: PCA pictures, cosine similarities, nearest vocabulary words. */
export * from './pca';
export * from './nearest_words';
