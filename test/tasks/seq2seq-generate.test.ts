// Decoding with transformers' semantics, checked where the answer is known: beam search with enough beams and
// early_stopping 'never' is exhaustive search, so it must find what brute-force enumeration of every target finds
// (scored as transformers scores hypotheses, with the length penalty and no_repeat_ngram_size); a batch decodes as
// its rows would alone (left-padded GPT prompts included); one beam is greedy; top-k 1 sampling is greedy;
// num_return_sequences: beam search's N best against the N best of the enumeration, sampling's N draws per source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { bertConfig } from '../../src/models/bert.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { EncoderDecoderModel, encoderDecoderConfig } from '../../src/models/encoder-decoder.js';
import {
  bannedNgramTokens, encoderDecoderGenerator, generateSequences, gptConditionalGenerator, type ConditionalGenerator,
} from '../../src/tasks/seq2seq-generate.js';

const V = 5, START = 1, EOS = 2, SEP = 3;

function tinyEncoderDecoder(seed = 0): EncoderDecoderModel {
  T.manualSeed(seed);
  // a large initialisation makes the distributions peaked, so that the best target is clear of float noise
  const side = { model_type: 'bert' as const, ...bertConfig({ vocab_size: V, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
    max_position_embeddings: 12, initializer_range: 0.6 }) };
  return new EncoderDecoderModel(encoderDecoderConfig({ encoder: side, decoder: side, decoder_start_token_id: START, pad_token_id: 0, eos_token_id: EOS })).eval();
}

function tinyGpt(seed = 0): GPT {
  T.manualSeed(seed);
  return new GPT(gptConfig({ vocab_size: V, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2, initializer_range: 0.6, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 })).eval();
}

/** log p(target | source) token by token, by teacher forcing through the generator's own session. */
async function logProbs(gen: ConditionalGenerator, source: number[], target: number[]): Promise<number[]> {
  const { prompts, session } = gen.begin([source]);
  let logits = await session.step(prompts);
  const out: number[] = [];
  for (const token of target) {
    const row = logits[0]!;
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    out.push(row[token]! - lse);
    logits = await session.step([[token]]);
  }
  return out;
}

/**
 * Every target by enumeration, best first (the first enumerated among equals): every sequence of non-end tokens up
 * to maxNew, ended by EOS or cut at maxNew, scored sum log p / length ** lengthPenalty (the end token counted),
 * skipping any with a repeated n-gram.
 */
async function enumerate(gen: ConditionalGenerator, source: number[], prompt: number[], maxNew: number, lengthPenalty: number, ngram = 0) {
  const all: { tokens: number[]; score: number; finished: boolean }[] = [];
  const words = Array.from({ length: V }, (_, i) => i).filter((t) => t !== EOS);
  const visit = async (prefix: number[]) => {
    for (const ending of prefix.length < maxNew ? [[EOS], []] : [[]]) {
      const target = [...prefix, ...ending];
      if (target.length === 0 || (ending.length === 0 && prefix.length < maxNew)) continue;
      if (ngram && target.some((tok, i) => bannedNgramTokens([...prompt, ...target.slice(0, i)], ngram).includes(tok))) continue;
      const lp = await logProbs(gen, source, target);
      all.push({ tokens: prefix, score: lp.reduce((a, b) => a + b, 0) / target.length ** lengthPenalty, finished: ending.length > 0 });
    }
    if (prefix.length < maxNew) for (const w of words) await visit([...prefix, w]);
  };
  await visit([]);
  return all.sort((a, b) => b.score - a.score);
}

/** The best target by enumeration. */
async function bruteForce(gen: ConditionalGenerator, source: number[], prompt: number[], maxNew: number, lengthPenalty: number, ngram = 0) {
  return (await enumerate(gen, source, prompt, maxNew, lengthPenalty, ngram))[0]!;
}

for (const [kind, make] of [['encoder-decoder', () => encoderDecoderGenerator(tinyEncoderDecoder())],
  ['GPT (source <sep> target)', () => gptConditionalGenerator(tinyGpt(), { sep: SEP, eos: EOS })]] as const) {
  for (const [lengthPenalty, ngram] of [[1, 0], [0, 0], [2, 0], [1, 2]] as const) {
    test(`${kind}: beam search with enough beams finds the brute-force best target (length_penalty ${lengthPenalty}${ngram ? `, no_repeat_ngram_size ${ngram}` : ''})`, async () => {
      const gen = make();
      const source = [4, 3, 0, 4];
      const prompt = gen.begin([source]).prompts[0]!;
      const maxNew = 4;
      const want = await bruteForce(gen, source, prompt, maxNew, lengthPenalty, ngram);
      const [got] = await generateSequences(gen, [source], { numBeams: 4 ** 3, maxNewTokens: maxNew, lengthPenalty, earlyStopping: 'never', noRepeatNgramSize: ngram });
      assert.deepEqual(got!.tokens, want.tokens);
      assert.ok(Math.abs(got!.score - want.score) < 1e-5, `score ${got!.score} vs ${want.score}`);
    });
  }
}

// With 3 new tokens over 4 words and the end token, at most 16 beams are open before the last step and 80
// continuations compete in it; 80 beams take every one (an end token is kept only within the first num_beams), so
// the hypotheses are every target, and the N best returned must be the enumeration's N best, in its order.
for (const [kind, make] of [['encoder-decoder', () => encoderDecoderGenerator(tinyEncoderDecoder(4))],
  ['GPT (source <sep> target)', () => gptConditionalGenerator(tinyGpt(4), { sep: SEP, eos: EOS })]] as const) {
  for (const [lengthPenalty, ngram] of [[1, 0], [0, 0], [2, 2]] as const) {
    test(`${kind}: numReturnSequences 6 with enough beams returns the brute-force 6 best, best first (length_penalty ${lengthPenalty}${ngram ? `, no_repeat_ngram_size ${ngram}` : ''})`, async () => {
      const gen = make();
      const sources = [[4, 3, 0, 4], [0, 0]];
      const got = await generateSequences(gen, sources, { numBeams: 80, numReturnSequences: 6, maxNewTokens: 3, lengthPenalty, earlyStopping: 'never', noRepeatNgramSize: ngram });
      assert.equal(got.length, 12, 'batch x N rows');
      for (const [i, source] of sources.entries()) {
        const want = (await enumerate(gen, source, gen.begin([source]).prompts[0]!, 3, lengthPenalty, ngram)).slice(0, 6);
        const mine = got.slice(6 * i, 6 * i + 6);
        assert.deepEqual(mine.map((r) => r.tokens), want.map((w) => w.tokens), `source ${i}`);
        assert.deepEqual(mine.map((r) => r.finished), want.map((w) => w.finished));
        mine.forEach((r, j) => assert.ok(Math.abs(r.score - want[j]!.score) < 1e-5, `source ${i}, sequence ${j}: score ${r.score} vs ${want[j]!.score}`));
        for (let j = 1; j < 6; j++) assert.ok(mine[j - 1]!.score >= mine[j]!.score, 'ordered by score');
      }
    });
  }
}

test('numReturnSequences with beams: the first of the N is the one-sequence result; a batch decodes as each source alone; N = numBeams is allowed', async () => {
  const gen = encoderDecoderGenerator(tinyEncoderDecoder(5));
  const sources = [[4], [3, 0, 4, 4, 0], [0, 4, 3]];
  for (const opts of [{ numBeams: 3 }, { numBeams: 4, lengthPenalty: 0.5, earlyStopping: true }, { numBeams: 3, noRepeatNgramSize: 2 }] as const) {
    const one = await generateSequences(gen, sources, { maxNewTokens: 6, ...opts });
    const n = opts.numBeams;
    const many = await generateSequences(gen, sources, { maxNewTokens: 6, ...opts, numReturnSequences: n, batchSize: 2 });
    assert.equal(many.length, sources.length * n);
    for (const [i, s] of sources.entries()) {
      assert.deepEqual(many[i * n]!.tokens, one[i]!.tokens, `${JSON.stringify(opts)}: source ${i}'s best`);
      const alone = await generateSequences(gen, [s], { maxNewTokens: 6, ...opts, numReturnSequences: n });
      assert.deepEqual(many.slice(i * n, (i + 1) * n).map((r) => r.tokens), alone.map((r) => r.tokens), `${JSON.stringify(opts)}: source ${i} alone`);
      const scores = alone.map((r) => r.score);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best first');
      assert.equal(new Set(alone.map((r) => JSON.stringify(r.tokens))).size, n, 'distinct hypotheses');
    }
  }
});

test('numReturnSequences with sampling: N draws per source, as the source given N times; seeded draws repeat', async () => {
  for (const gen of [encoderDecoderGenerator(tinyEncoderDecoder(6)), gptConditionalGenerator(tinyGpt(6), { sep: SEP, eos: EOS })]) {
    const sources = [[4, 3], [0, 4, 4]];
    const opts = { maxNewTokens: 5, doSample: true, temperature: 2 } as const;
    const draw = (seed: number) => generateSequences(gen, sources, { ...opts, numReturnSequences: 4, generator: new T.Generator(seed) });
    const a = await draw(7);
    assert.equal(a.length, 8);
    assert.deepEqual(a.map((r) => r.tokens), (await draw(7)).map((r) => r.tokens), 'the same seed, the same samples');
    const expanded = await generateSequences(gen, sources.flatMap((s) => [s, s, s, s]), { ...opts, generator: new T.Generator(7) });
    assert.deepEqual(a.map((r) => [r.tokens, r.score]), expanded.map((r) => [r.tokens, r.score]), 'source i at rows 4i..4i+3, drawn as the expanded batch');
    const distinct = new Set(a.slice(0, 4).map((r) => JSON.stringify(r.tokens))).size + new Set(a.slice(4).map((r) => JSON.stringify(r.tokens))).size;
    assert.ok(distinct > 2, 'independent draws (at temperature 2 they differ)');
    // each row's score is the sum of its tokens' log-probabilities, as one draw's is
    const [r] = a;
    const logp = await logProbs(gen, sources[0]!, [...r!.tokens, ...(r!.finished ? [EOS] : [])]);
    assert.ok(Math.abs(logp.reduce((x, y) => x + y, 0) - r!.score) < 1e-4);
  }
  // the constraint is asked about the source, whichever copy is drawn
  const gen = encoderDecoderGenerator(tinyEncoderDecoder(3));
  const allow = (i: number, seq: readonly number[]) => (seq.length - 1 > i ? [EOS] : seq.at(-1) === 4 ? [0] : [4]);
  const out = await generateSequences(gen, [[4, 3, 4], [0]], { maxNewTokens: 6, prefixAllowedTokens: allow, doSample: true, numReturnSequences: 3, generator: new T.Generator(1) });
  assert.deepEqual(out.map((r) => r.tokens), [[4], [4], [4], [4, 0], [4, 0], [4, 0]]);
});

test('no_repeat_ngram_size bans what would complete an n-gram already in the sequence, as transformers does', () => {
  assert.deepEqual(bannedNgramTokens([1, 4, 3, 4], 2), [3]);
  assert.deepEqual(bannedNgramTokens([1, 4, 3, 4, 3], 3), [4]);
  assert.deepEqual(bannedNgramTokens([1, 4], 3), []);
  assert.deepEqual(bannedNgramTokens([1, 1], 1), [1, 1]);
});

for (const [kind, make] of [['encoder-decoder', () => encoderDecoderGenerator(tinyEncoderDecoder(1))],
  ['GPT, left-padded prompts', () => gptConditionalGenerator(tinyGpt(1), { sep: SEP, eos: EOS })]] as const) {
  test(`${kind}: a batch decodes as each source alone, greedy and with beams; one beam is greedy`, async () => {
    const gen = make();
    const sources = [[4], [3, 0, 4, 4, 0], [0, 4, 3]];
    for (const opts of [{}, { numBeams: 3 }, { numBeams: 2, lengthPenalty: 0.5, earlyStopping: true }, { numBeams: 3, noRepeatNgramSize: 2 }] as const) {
      const batched = await generateSequences(gen, sources, { maxNewTokens: 6, ...opts });
      for (const [i, s] of sources.entries()) {
        const [alone] = await generateSequences(gen, [s], { maxNewTokens: 6, ...opts });
        assert.deepEqual(batched[i]!.tokens, alone!.tokens, `${JSON.stringify(opts)} source ${i}`);
        assert.ok(Math.abs(batched[i]!.score - alone!.score) < 1e-5);
      }
    }
    const greedy = await generateSequences(gen, sources, { maxNewTokens: 6 });
    const oneBeam = await generateSequences(gen, sources, { maxNewTokens: 6, numBeams: 1 });
    assert.deepEqual(oneBeam.map((r) => r.tokens), greedy.map((r) => r.tokens));
    for (const r of greedy) assert.ok(r.finished ? r.tokens.length < 6 : r.tokens.length === 6, 'unfinished rows run to max_new_tokens');
  });
}

test('sampling: top-k 1 is greedy; top-k 2 only ever draws one of the two most likely tokens; seeded draws repeat', async () => {
  const gen = encoderDecoderGenerator(tinyEncoderDecoder(2));
  const sources = [[4, 3], [0, 4, 4]];
  const greedy = await generateSequences(gen, sources, { maxNewTokens: 5 });
  const k1 = await generateSequences(gen, sources, { maxNewTokens: 5, topK: 1, temperature: 0.7 });
  assert.deepEqual(k1.map((r) => r.tokens), greedy.map((r) => r.tokens));
  const draw = (seed: number) => generateSequences(gen, sources, { maxNewTokens: 5, doSample: true, generator: new T.Generator(seed) });
  assert.deepEqual((await draw(5)).map((r) => r.tokens), (await draw(5)).map((r) => r.tokens));
  for (let seed = 0; seed < 10; seed++) {
    const [r] = await generateSequences(gen, [sources[0]!], { maxNewTokens: 3, topK: 2, generator: new T.Generator(seed) });
    const target = [...r!.tokens, ...(r!.finished ? [EOS] : [])];
    const { prompts, session } = gen.begin([sources[0]!]);
    let logits = await session.step(prompts);
    for (const tok of target) {
      const ranked = Array.from(logits[0]!.keys()).sort((a, b) => logits[0]![b]! - logits[0]![a]!);
      assert.ok(ranked.slice(0, 2).includes(tok), `seed ${seed}: ${tok} is not in the top 2 ${ranked}`);
      logits = await session.step([[tok]]);
    }
  }
});

test('prefixAllowedTokens constrains every decoding to the allowed tokens, asked by source index and sequence', async () => {
  const gen = encoderDecoderGenerator(tinyEncoderDecoder(3));
  const sources = [[4, 3, 4], [0], [3, 3]];
  // source i may only alternate between tokens 0 and 4 for i + 1 tokens, then must end
  const allow = (i: number, seq: readonly number[]) => (seq.length - 1 > i ? [EOS] : seq.at(-1) === 4 ? [0] : [4]);
  for (const opts of [{}, { numBeams: 3 }, { doSample: true, generator: new T.Generator(1) }]) {
    const out = await generateSequences(gen, sources, { maxNewTokens: 6, prefixAllowedTokens: allow, batchSize: 2, ...opts });
    assert.deepEqual(out.map((r) => [r.tokens, r.finished]), [[[4], true], [[4, 0], true], [[4, 0, 4], true]], JSON.stringify(opts));
  }
});

test('bad options and sources are errors that say what is wrong', async () => {
  const gen = encoderDecoderGenerator(tinyEncoderDecoder());
  await assert.rejects(() => generateSequences(gen, [[4]], { numBeams: 0 }), /numBeams must be an integer >= 1, got 0/);
  await assert.rejects(() => generateSequences(gen, [[4]], { numBeams: 2, temperature: 0.5 }), /sampling with beams/);
  await assert.rejects(() => generateSequences(gen, [[4]], { topP: 1.5 }), /topP must be in \(0, 1\]/);
  // transformers' GenerationConfig.validate: greedy returns one sequence, beams at most num_beams
  await assert.rejects(() => generateSequences(gen, [[4]], { numReturnSequences: 2 }), /greedy methods without beam search do not support numReturnSequences different than 1 \(got 2\)/);
  await assert.rejects(() => generateSequences(gen, [[4]], { numBeams: 2, numReturnSequences: 3 }), /numReturnSequences \(3\) has to be smaller or equal to numBeams \(2\)/);
  await assert.rejects(() => generateSequences(gen, [[4]], { numReturnSequences: 0, doSample: true }), /numReturnSequences must be an integer >= 1, got 0/);
  await assert.rejects(() => generateSequences(gen, [[4], []]), /source 2 is empty/);
  await assert.rejects(() => generateSequences(gen, [new Array(13).fill(4)]), /source 1 has 13 tokens, more than the encoder's 12 positions/);
  const gpt = gptConditionalGenerator(tinyGpt(), { sep: SEP, eos: EOS });
  await assert.rejects(() => generateSequences(gpt, [new Array(15).fill(4)]), /a source of 15 tokens leaves no room for a target in the model's positions/);
});
