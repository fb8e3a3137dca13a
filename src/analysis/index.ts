/** Analysis helpers for embeddings: PCA pictures, cosine similarities, nearest vocabulary words. */
export * from './pca';
export * from './nearest_words';
export * from './contextual_embeddings';
export * from './group_similarity';
export * from './attention_patterns';
