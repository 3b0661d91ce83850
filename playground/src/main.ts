// The playground page: six tabs (corpus, word2vec, GPT, BERT, polysemy, checkpoints) over one training worker
// (worker.ts) that holds and trains every model. This thread only draws; each panel's status element carries
// data-state="running" | "done" | "error", which the browser tests wait on.
import sample from '../../assets/tiny-shakespeare-200k.txt?raw';
import { TrainingWorker } from './client.js';
import type { EngineChoice, ModelChoice, ProgressEvent } from './protocol.js';
import { count, drawLossChart, drawScatter, h, heatmap, numberOf, textOf } from './ui.js';

// the kernels of build/wasm, emitted as assets by the bundler: the worker fetches them by file name
const wasmUrls = import.meta.glob('../../build/wasm/*.wasm', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const wasmFiles = Object.fromEntries(Object.entries(wasmUrls).map(([path, url]) => [path.split('/').pop()!, new URL(url, document.baseURI).href]));

const worker = new TrainingWorker();
const $ = <E extends Element = HTMLElement>(id: string) => document.getElementById(id) as unknown as E;

/** Runs an action for a panel: its status shows running, then done with `done`'s text, or the error. */
async function act<R>(statusId: string, running: string, work: () => Promise<R>, done: (r: R) => string): Promise<R | undefined> {
  const status = $(statusId);
  status.dataset.state = 'running';
  delete status.dataset.result;
  status.className = 'status';
  status.textContent = running;
  try {
    const r = await work();
    // the answer, for the browser tests and the benchmark to read (a download's bytes are left out)
    status.dataset.result = JSON.stringify(r);
    status.dataset.state = 'done';
    status.textContent = done(r);
    return r;
  } catch (err) {
    status.dataset.state = 'error';
    status.className = 'error';
    status.textContent = (err as Error).message;
    return undefined;
  }
}

const num = (id: string, label: string, value: number, attrs: Record<string, unknown> = {}) =>
  h('label', {}, label, h('input', { id, type: 'number', value, 'data-label': label, ...attrs }));
const field = (id: string, label: string, value: string) => h('label', {}, label, h('input', { id, type: 'text', value }));
const status = (id: string) => h('div', { id, class: 'status' });
const table = (id: string, head: string[]) => h('table', { id }, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))), h('tbody'));
function fillTable(id: string, rows: (string | number)[][]): void {
  $(id).querySelector('tbody')!.replaceChildren(...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', typeof c === 'number' ? { class: 'num' } : {}, typeof c === 'number' ? c.toFixed(4) : c)))));
}
const panel = (title: string, ...children: (Node | string)[]) => h('div', { class: 'panel' }, h('h2', {}, title), ...children);
const button = (id: string, label: string, onclick: () => unknown, primary = true) => h('button', { id, class: primary ? 'primary' : '', onclick }, label);

// ---- Corpus ----
type CorpusArgs = { text: string } | { bytes: ArrayBuffer };
/** Hands the worker a corpus (pasted text or a file's bytes); `where` names it in the status line. */
// `args` may be a promise (a file still being read): the status shows running from the first moment, so that no
// reader sees the previous corpus's answer in between.
const useCorpus = (args: CorpusArgs | Promise<CorpusArgs>, where: string) => act('corpus-status', 'reading the corpus', async () => worker.call('corpus', await args),
  (c) => `${where}: ${count(c.chars)} characters, ${count(c.lines)} lines, ${count(c.words)} words (${count(c.distinctWords)} distinct)` +
    (c.invalidSequences > 0 ? `; ${count(c.invalidSequences)} invalid UTF-8 sequences (${count(c.invalidBytes)} bytes) replaced with U+FFFD` : ''));

function corpusPage(): HTMLElement {
  const onFile = (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    return useCorpus(file.arrayBuffer().then((bytes) => {
      ($('corpus-text') as HTMLTextAreaElement).value = new TextDecoder('utf-8').decode(bytes);
      return { bytes };
    }), file.name);
  };
  return h('section', { class: 'page', id: 'page-corpus' },
    panel('Corpus',
      h('p', { class: 'status' }, 'Every model on the other pages trains on this text. The sample is 200,000 characters of Shakespeare (Karpathy\'s tiny-shakespeare).'),
      h('textarea', { id: 'corpus-text', rows: 14 }),
      h('div', { class: 'row' },
        button('corpus-use', 'Use this text', () => useCorpus({ text: textOf('corpus-text') }, 'pasted text')),
        button('corpus-sample', 'Load the sample', () => { ($('corpus-text') as HTMLTextAreaElement).value = sample; return useCorpus({ text: sample }, 'the Shakespeare sample'); }, false),
        h('label', {}, 'or a UTF-8 file', h('input', { id: 'corpus-file', type: 'file', accept: '.txt,text/plain', onchange: onFile }))),
      status('corpus-status')));
}

// ---- word2vec ----
function word2vecPage(): HTMLElement {
  const train = () => act('w2v-status', 'training', () => worker.call('word2vecTrain', {
    model: textOf('w2v-model') as 'cbow' | 'skipgram', dim: numberOf('w2v-dim'), window: numberOf('w2v-window'), epochs: numberOf('w2v-epochs'),
    minCount: numberOf('w2v-min-count'), negative: numberOf('w2v-negative'),
  }), (r) => `${count(r.vocabulary)} words in the vocabulary; ${count(r.words)} words trained in ${r.seconds.toFixed(1)} s (${count(r.wordsPerSec)} words/s)`);
  const neighbours = () => act('w2v-query-status', 'searching', () => worker.call('neighbours', { word: textOf('w2v-word').trim().toLowerCase(), topn: 10 }),
    (rows) => { fillTable('w2v-neighbours', rows); return `nearest to "${textOf('w2v-word')}" by cosine`; });
  const analogy = () => act('w2v-analogy-status', 'searching', () => worker.call('analogy', { a: textOf('w2v-a'), b: textOf('w2v-b'), c: textOf('w2v-c'), topn: 5 }),
    (rows) => { fillTable('w2v-analogy', rows); return `${textOf('w2v-a')} is to ${textOf('w2v-b')} as ${textOf('w2v-c')} is to …`; });
  const project = () => act('w2v-project-status', 'projecting', () => worker.call('project', { words: textOf('w2v-words').toLowerCase().split(/[\s,]+/).filter((w) => w) }),
    (r) => { drawScatter($('w2v-plot'), r.words, r.points);
      return `PCA: the two axes explain ${(100 * r.explained[0]).toFixed(0)}% and ${(100 * r.explained[1]).toFixed(0)}% of the variance${r.missing.length ? `; not in the vocabulary: ${r.missing.join(', ')}` : ''}`; });
  return h('section', { class: 'page', id: 'page-word2vec' },
    panel('Train word2vec',
      h('div', { class: 'row' },
        h('label', {}, 'model', h('select', { id: 'w2v-model' }, h('option', { value: 'skipgram' }, 'skip-gram'), h('option', { value: 'cbow' }, 'CBOW'))),
        num('w2v-dim', 'dimensions', 50), num('w2v-window', 'window', 5), num('w2v-epochs', 'epochs', 20), num('w2v-min-count', 'min count', 3), num('w2v-negative', 'negatives', 5),
        button('w2v-train', 'Train', train)),
      h('div', { class: 'row' }, h('progress', { id: 'w2v-progress', value: 0, max: 1 }), h('span', { id: 'w2v-rate', class: 'status' })),
      status('w2v-status')),
    panel('Nearest neighbours', h('div', { class: 'row' }, field('w2v-word', 'word', 'king'), button('w2v-neighbours-go', 'Find', neighbours)),
      status('w2v-query-status'), table('w2v-neighbours', ['word', 'cosine'])),
    panel('Analogies', h('div', { class: 'row' }, field('w2v-a', 'a', 'man'), field('w2v-b', 'b', 'king'), field('w2v-c', 'c', 'woman'), button('w2v-analogy-go', 'Solve', analogy)),
      status('w2v-analogy-status'), table('w2v-analogy', ['word', 'cosine'])),
    panel('2-D projection', h('div', { class: 'row' }, field('w2v-words', 'words', 'king queen duke lord lady man woman love hate night day sun moon'), button('w2v-project-go', 'Project', project)),
      status('w2v-project-status'), s_svg('w2v-plot')));
}

function s_svg(id: string): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.id = id;
  svg.setAttribute('width', '100%');
  return svg;
}

// ---- GPT ----
const losses: number[] = [];
function gptPage(): HTMLElement {
  const train = () => {
    losses.length = 0;
    $('gpt-losses').dataset.losses = '[]';
    return act('gpt-status', 'training', () => worker.call('gptTrain', {
      tokenizer: textOf('gpt-tokenizer') as 'char' | 'bpe', vocabSize: numberOf('gpt-vocab'), layers: numberOf('gpt-layers'), dim: numberOf('gpt-dim'),
      heads: numberOf('gpt-heads'), block: numberOf('gpt-block'), batch: numberOf('gpt-batch'), steps: numberOf('gpt-steps'), lr: numberOf('gpt-lr'),
    }), (r) => `${r.stopped ? 'stopped after' : 'trained'} ${r.steps} steps in ${r.seconds.toFixed(1)} s (${count(r.tokensPerSec)} tokens/s)${Number.isFinite(r.valLoss) ? `; held-out loss ${r.valLoss.toFixed(3)}` : ''}`);
  };
  const sampleText = () => act('gpt-sample-status', 'sampling', () => worker.call('gptSample', {
    prompt: textOf('gpt-prompt'), maxNewTokens: numberOf('gpt-new'), temperature: numberOf('gpt-temperature'), topK: numberOf('gpt-topk'), seed: numberOf('gpt-seed'),
  }), (r) => { $('gpt-sample').textContent = textOf('gpt-prompt') + r.text; return `${numberOf('gpt-new')} tokens sampled`; });
  const attention = () => act('gpt-attention-status', 'computing', () => worker.call('gptAttention', { prompt: textOf('gpt-attention-prompt'), layer: numberOf('gpt-attention-layer') }),
    (r) => {
      $('gpt-attention').replaceChildren(...r.heads.map((w, i) => h('figure', {}, heatmap(w, r.tokens), h('figcaption', {}, `head ${i}`))));
      return `layer ${Math.min(numberOf('gpt-attention-layer'), r.layers - 1)} of ${r.layers}: each row is a query token, each column a key it attends to`;
    });
  return h('section', { class: 'page', id: 'page-gpt' },
    panel('Train a GPT',
      h('div', { class: 'row' },
        h('label', {}, 'tokens', h('select', { id: 'gpt-tokenizer' }, h('option', { value: 'char' }, 'characters'), h('option', { value: 'bpe' }, 'byte-level BPE'))),
        num('gpt-vocab', 'BPE vocabulary', 512), num('gpt-layers', 'layers', 2), num('gpt-dim', 'width', 64), num('gpt-heads', 'heads', 4),
        num('gpt-block', 'context', 64), num('gpt-batch', 'batch', 16), num('gpt-steps', 'steps', 300), num('gpt-lr', 'learning rate', 0.003, { step: 0.0005 })),
      h('div', { class: 'row' }, button('gpt-train', 'Train', train), button('gpt-stop', 'Stop', () => worker.call('stop', {}), false),
        h('progress', { id: 'gpt-progress', value: 0, max: 1 }), h('span', { id: 'gpt-losses', class: 'status', 'data-losses': '[]' })),
      s_svg('gpt-chart'), status('gpt-status')),
    panel('Sample', h('div', { class: 'row' }, field('gpt-prompt', 'prompt', 'ROMEO:'), num('gpt-new', 'new tokens', 200), num('gpt-temperature', 'temperature', 0.8, { step: 0.1 }),
      num('gpt-topk', 'top-k', 20), num('gpt-seed', 'seed', 0), button('gpt-sample-go', 'Sample', sampleText)), status('gpt-sample-status'), h('pre', { id: 'gpt-sample', class: 'sample' })),
    panel('Attention', h('div', { class: 'row' }, field('gpt-attention-prompt', 'prompt', 'To be, or not to be'), num('gpt-attention-layer', 'layer', 0, { min: 0 }),
      button('gpt-attention-go', 'Show', attention)), status('gpt-attention-status'), h('div', { id: 'gpt-attention', class: 'heads' })));
}

// ---- BERT ----
function bertPage(): HTMLElement {
  const bundled = () => act('bert-status', 'loading the bundled model', async () => {
    const base = new URL('./models/tiny-bert/', document.baseURI);
    const get = async (file: string) => {
      const r = await fetch(new URL(file, base));
      if (!r.ok) throw new Error(`models/tiny-bert/${file}: ${r.status} ${r.statusText}`);
      return r;
    };
    const [config, weights, tokenizer] = await Promise.all([get('config.json').then((r) => r.text()), get('model.safetensors').then((r) => r.arrayBuffer()), get('tokenizer.json').then((r) => r.text())]);
    return worker.call('bertLoad', { config, weights, tokenizer, where: 'models/tiny-bert' });
  }, (r) => `${r.where}: ${r.architecture}, ${count(r.parameters)} parameters, ${count(r.vocabulary)} tokens`);
  const fromDisk = (e: Event) => act('bert-status', 'reading the model directory', async () => {
    const files = [...((e.target as HTMLInputElement).files ?? [])];
    const where = files[0]?.webkitRelativePath.split('/')[0] || 'the chosen files';
    const find = (name: string) => {
      const f = files.find((x) => x.name === name);
      if (!f) throw new Error(`${where}: no ${name} (a Hugging Face model directory has config.json, model.safetensors and tokenizer.json)`);
      return f;
    };
    const [config, weights, tokenizer] = await Promise.all([find('config.json').text(), find('model.safetensors').arrayBuffer(), find('tokenizer.json').text()]);
    return worker.call('bertLoad', { config, weights, tokenizer, where });
  }, (r) => `${r.where}: ${r.architecture}, ${count(r.parameters)} parameters, ${count(r.vocabulary)} tokens`);
  const train = () => act('bert-status', 'training', () => worker.call('bertTrain', {
    vocabSize: numberOf('bert-vocab'), layers: numberOf('bert-layers'), dim: numberOf('bert-dim'), heads: numberOf('bert-heads'), steps: numberOf('bert-steps'),
    batch: numberOf('bert-batch'), seqLength: numberOf('bert-seq'), lr: numberOf('bert-lr'),
  }), (r) => `trained ${r.steps} steps in ${r.seconds.toFixed(1)} s; masked-LM + next-sentence loss ${r.mlmLoss.toFixed(3)}`);
  const fill = () => act('bert-fill-status', 'predicting', () => worker.call('fillMask', { text: textOf('bert-text'), topK: numberOf('bert-topk') }),
    (rows) => { fillTable('bert-table', rows.flatMap((r, m) => r.map((c, i) => [rows.length > 1 ? `mask ${m + 1}` : `${i + 1}`, c.token, c.score]))); return `${rows.length} mask(s)`; });
  return h('section', { class: 'page', id: 'page-bert' },
    panel('A BERT with a masked-LM head',
      h('div', { class: 'row' }, button('bert-bundled', 'Load the bundled tiny BERT', bundled),
        h('label', {}, 'or a Hugging Face directory from disk', h('input', { id: 'bert-dir', type: 'file', webkitdirectory: true, multiple: true, onchange: fromDisk }))),
      h('div', { class: 'row' }, num('bert-vocab', 'vocabulary', 1000), num('bert-layers', 'layers', 2), num('bert-dim', 'width', 64), num('bert-heads', 'heads', 2),
        num('bert-seq', 'sequence', 64), num('bert-batch', 'batch', 16), num('bert-steps', 'steps', 300), num('bert-lr', 'learning rate', 0.001, { step: 0.0005 }),
        button('bert-train', 'Train on the corpus', train, false), button('bert-stop', 'Stop', () => worker.call('stop', {}), false)),
      h('progress', { id: 'bert-progress', value: 0, max: 1 }), status('bert-status')),
    panel('Fill the mask', h('div', { class: 'row' }, field('bert-text', 'text', 'the [MASK] of the king'), num('bert-topk', 'top-k', 5), button('bert-fill-go', 'Fill', fill)),
      status('bert-fill-status'), table('bert-table', ['rank', 'token', 'probability'])));
}

// ---- Polysemy ----
function polysemyPage(): HTMLElement {
  const run = () => act('poly-status', 'encoding both sentences', () => worker.call('polysemy', { model: textOf('poly-model') as ModelChoice, a: textOf('poly-a'), b: textOf('poly-b'), word: textOf('poly-word') }),
    (r) => {
      fillTable('poly-table', r.layers.map((c, l) => [r.layers.length === 1 ? 'static vector' : l === 0 ? 'embeddings (layer 0)' : `layer ${l}`, c]));
      return `"${textOf('poly-word')}" in both sentences (tokens: ${r.tokensA.join(' ')} | ${r.tokensB.join(' ')}): cosine of its two vectors${r.layers.length === 1 ? ' — a static vector is the same in every context' : ', per layer'}`;
    });
  return h('section', { class: 'page', id: 'page-polysemy' },
    panel('One word, two contexts',
      h('p', { class: 'status' }, 'A static vector (word2vec) gives a word one vector whatever its sentence: cosine 1.0. A contextual model (BERT, or a GPT with BPE tokens) gives it one per sentence, and the layers move them apart.'),
      h('div', { class: 'row' }, field('poly-a', 'sentence A', 'he sat on the bank of the river'), field('poly-b', 'sentence B', 'she put the money in the bank')),
      h('div', { class: 'row' }, field('poly-word', 'word', 'bank'),
        h('label', {}, 'model', h('select', { id: 'poly-model' }, h('option', { value: 'bert' }, 'BERT'), h('option', { value: 'gpt' }, 'GPT (BPE)'), h('option', { value: 'word2vec' }, 'word2vec'))),
        button('poly-go', 'Compare', run)),
      status('poly-status'), table('poly-table', ['layer', 'cosine'])));
}

// ---- Checkpoints ----
function checkpointsPage(): HTMLElement {
  const download = (model: 'gpt' | 'bert') => act('ckpt-status', 'packing the model', async () => {
    const { name, zip } = await worker.call('checkpoint', { model });
    const a = h('a', { href: URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' })), download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    return { name, bytes: zip.byteLength };
  }, (r) => `${r.name}: ${count(r.bytes)} bytes`);
  return h('section', { class: 'page', id: 'page-checkpoints' },
    panel('Download a trained model',
      h('p', { class: 'status' }, 'A zip of a Hugging Face model directory: config.json, model.safetensors and the tokenizer (tokenizer.json, or char_vocab.json for a character GPT). ' +
        'Unzipped, `pretrain gpt generate --model DIR`, `pretrain bert fill-mask --model DIR` and transformers\' from_pretrained(DIR) load it.'),
      h('div', { class: 'row' }, button('ckpt-gpt', 'GPT', () => download('gpt')), button('ckpt-bert', 'BERT', () => download('bert'))),
      status('ckpt-status')));
}

// ---- progress and tabs ----
worker.onProgress((p: ProgressEvent) => {
  if (p.kind === 'word2vec') {
    ($('w2v-progress') as HTMLProgressElement).value = p.words / p.totalWords;
    $('w2v-rate').textContent = `${count(p.words)} / ${count(p.totalWords)} words, ${count(p.wordsPerSec)} words/s, loss ${p.loss.toFixed(3)}`;
  } else if (p.kind === 'gpt') {
    losses.push(p.loss);
    ($('gpt-progress') as HTMLProgressElement).value = p.step / p.maxSteps;
    const el = $('gpt-losses');
    el.dataset.losses = JSON.stringify(losses);
    el.textContent = `step ${p.step}/${p.maxSteps}: loss ${p.loss.toFixed(3)}, ${count(p.tokensPerSec)} tokens/s`;
    drawLossChart($('gpt-chart'), losses, p.maxSteps);
  } else if (p.kind === 'bert') {
    ($('bert-progress') as HTMLProgressElement).value = p.step / p.maxSteps;
    $('bert-status').textContent = `step ${p.step}/${p.maxSteps}: loss ${p.loss.toFixed(3)}`;
  } else {
    for (const id of ['gpt-status', 'bert-status']) if ($(id).dataset.state === 'running') $(id).textContent = p.text;
  }
});

const PAGES: [string, string, () => HTMLElement][] = [
  ['corpus', 'Corpus', corpusPage], ['word2vec', 'word2vec', word2vecPage], ['gpt', 'GPT', gptPage],
  ['bert', 'BERT', bertPage], ['polysemy', 'Polysemy', polysemyPage], ['checkpoints', 'Checkpoints', checkpointsPage],
];
$('pages').append(...PAGES.map(([, , make]) => make()));
$('tabs').append(...PAGES.map(([id, label]) => h('button', { id: `tab-${id}`, onclick: () => { location.hash = id; } }, label)));
function show(): void {
  const current = PAGES.some(([id]) => id === location.hash.slice(1)) ? location.hash.slice(1) : 'corpus';
  for (const [id] of PAGES) {
    $(`page-${id}`).classList.toggle('active', id === current);
    $(`tab-${id}`).setAttribute('aria-selected', String(id === current));
  }
}
window.addEventListener('hashchange', show);
show();

// ?engine=webgpu|wasm|reference forces one (the tests use it); by default WebGPU where an adapter exists
const engine = (new URLSearchParams(location.search).get('engine') ?? 'auto') as EngineChoice;
const engineEl = $('engine');
worker.call('init', { engine, wasmFiles }).then((info) => {
  engineEl.dataset.state = 'ready';
  engineEl.dataset.backend = info.backend;
  engineEl.textContent = info.fallback ? `${info.description} (WebGPU unavailable: hover for why)` : info.description;
  if (info.fallback) engineEl.title = info.fallback;
  ($('corpus-text') as HTMLTextAreaElement).value = sample;
  return useCorpus({ text: sample }, 'the Shakespeare sample');
}, (err: Error) => {
  engineEl.dataset.state = 'error';
  engineEl.textContent = `the training worker did not start: ${err.message}`;
});
