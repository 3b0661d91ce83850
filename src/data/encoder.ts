// The tokenizer surface that data preparation needs, so that src/data depends on no particular tokenizer class;
// `encoderFromTokenizer` adapts src/text's Tokenizer (whose encode adds special tokens by default).
import type { Tokenizer } from '../text/index.js';

/** What data preparation needs from a tokenizer. (Not the web platform's TextEncoder, hence the name.) */
export interface TokenEncoder {
  /** Ids (and token strings) of a text, without special tokens. */
  encode(text: string): { ids: ArrayLike<number>; tokens?: readonly string[] };
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  vocabSize: number;
}

/** src/text's Tokenizer as a TokenEncoder: no special tokens, and none of the truncation or padding its file may
 * configure (sentences keep all their tokens; examples are laid out by src/data). The tokenizer is not modified. */
export function encoderFromTokenizer(tok: Tokenizer): TokenEncoder {
  return {
    // Truncation and padding are switched off around each (synchronous) call and restored at once. (A prototype view
    // of the tokenizer cannot do this: its word callback is bound to the original object and would fill the
    // original's token sink, so the view's encodings came out empty.)
    encode: (text) => {
      const { truncation, padding } = tok;
      tok.truncation = null;
      tok.padding = null;
      try {
        return tok.encode(text, null, { addSpecialTokens: false });
      } finally {
        tok.truncation = truncation;
        tok.padding = padding;
      }
    },
    tokenToId: (t) => tok.tokenToId(t),
    idToToken: (i) => tok.idToToken(i),
    vocabSize: tok.vocabSize,
  };
}

/** Ids of BERT's special tokens and which ids continue a word (WordPiece "##" pieces). */
export interface BertVocab {
  size: number;
  cls: number;
  sep: number;
  mask: number;
  pad: number;
  /** 1 where the token is a "##" continuation piece (for whole-word masking). */
  continuation: Uint8Array;
}

/** Looks up BERT's special tokens; a missing one is an error naming it. */
export function bertVocab(enc: TokenEncoder): BertVocab {
  const id = (t: string) => {
    const i = enc.tokenToId(t);
    if (i === undefined) throw new Error(`the tokenizer has no ${t} token, which BERT pretraining data needs`);
    return i;
  };
  const continuation = new Uint8Array(enc.vocabSize);
  for (let i = 0; i < enc.vocabSize; i++) if (enc.idToToken(i)?.startsWith('##')) continuation[i] = 1;
  return { size: enc.vocabSize, cls: id('[CLS]'), sep: id('[SEP]'), mask: id('[MASK]'), pad: id('[PAD]'), continuation };
}
