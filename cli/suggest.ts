// "Did you mean …?" for the command line: the engine's (engine/suggest.ts).
export { closest, didYouMean, distance } from '../engine/suggest.js';
