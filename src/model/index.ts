export * from './config';
export * from './params';
export * from './dropout';
export * from './encoder';
export * from './heads';
export * from './losses';
export * from './checkpoint';
