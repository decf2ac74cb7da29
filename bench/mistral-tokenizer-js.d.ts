// Types for mistral-tokenizer-js (a dev dependency of bench/tokenizer.ts; the package ships none).
declare module 'mistral-tokenizer-js' {
  const mistralTokenizer: {
    encode(prompt: string, addBosToken?: boolean, addPrecedingSpace?: boolean): number[];
    decode(ids: number[], addBosToken?: boolean, addPrecedingSpace?: boolean): string;
  };
  export default mistralTokenizer;
}
