# Writes test/fixtures/word2vec/: small word2vec binary/text files saved by gensim, and the similarity and analogy
# answers gensim gives on them, for the format interop and vectors API tests. Run: /usr/bin/python3 scripts/gen_word2vec_fixtures.py
import json, os
import numpy as np
from gensim.models import KeyedVectors

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'word2vec')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
words = ['king', 'queen', 'man', 'woman', 'paris', 'france', 'berlin', 'germany', 'apple', 'banana', 'King', 'café', 'x']
kv = KeyedVectors(8)
vecs = rng.standard_normal((len(words), 8)).astype(np.float32)
ix = {w: i for i, w in enumerate(words)}
# some analogies hold (up to noise) so the evaluation has both correct and incorrect answers
vecs[ix['queen']] = vecs[ix['king']] - vecs[ix['man']] + vecs[ix['woman']] + 0.1 * rng.standard_normal(8)
vecs[ix['germany']] = vecs[ix['berlin']] - vecs[ix['paris']] + vecs[ix['france']] + 0.1 * rng.standard_normal(8)
kv.add_vectors(words, vecs)
kv.save_word2vec_format(os.path.join(out, 'gensim.bin'), binary=True)
kv.save_word2vec_format(os.path.join(out, 'gensim.txt'), binary=False)
with open(os.path.join(out, 'analogies.txt'), 'w') as f:
    f.write(': capitals\nparis france berlin germany\nberlin germany paris france\nparis france rome italy\n: gender\nman woman king queen\nMAN WOMAN KING QUEEN\nking queen man woman\n')
with open(os.path.join(out, 'pairs.tsv'), 'w', newline='') as f:
    f.write('# word1\tword2\tscore\r\nking\tqueen\t8.5\r\nman\twoman\t8.3\r\napple\tbanana\t7.0\r\nparis\tapple\t1.0\r\nking\tzzz\t3.0\r\nberlin\tgermany\t7.9\r\ncafé\tx\t2.0')
ans = {
    'most_similar_king': [[w, float(s)] for w, s in kv.most_similar('king', topn=5)],
    'most_similar_pn': [[w, float(s)] for w, s in kv.most_similar(positive=['woman', 'king'], negative=['man'], topn=5)],
    'most_similar_restrict': [[w, float(s)] for w, s in kv.most_similar('apple', topn=3, restrict_vocab=6)],
    'cosmul': [[w, float(s)] for w, s in kv.most_similar_cosmul(positive=['woman', 'king'], negative=['man'], topn=5)],
    'similarity_king_queen': float(kv.similarity('king', 'queen')),
    'doesnt_match': kv.doesnt_match(['king', 'queen', 'man', 'banana']),
}
score, sections = kv.evaluate_word_analogies(os.path.join(out, 'analogies.txt'))
ans['analogy'] = {'score': score, 'sections': [[s['section'], len(s['correct']), len(s['incorrect'])] for s in sections]}
p, s, oov = kv.evaluate_word_pairs(os.path.join(out, 'pairs.tsv'))
ans['pairs'] = {'pearson': float(p[0]), 'spearman': float(s[0]), 'oov': float(oov)}
with open(os.path.join(out, 'gensim-answers.json'), 'w') as f:
    json.dump(ans, f, indent=1, ensure_ascii=False)
