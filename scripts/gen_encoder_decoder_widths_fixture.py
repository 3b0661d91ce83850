"""Writes test/fixtures/encoder-decoder/widths.json: two tiny encoder-decoders whose sides have different widths, as
transformers' EncoderDecoderModel builds them (modeling_encoder_decoder.py), written here in plain torch because
transformers itself is not installed: a BERT encoder of width 8 and a GPT-2 decoder of width 12 (bert2gpt2), and a
GPT-2 encoder of width 12 and a BERT decoder of width 8 (gpt2bert). The decoder's config has no
cross_attention_hidden_size, so the model has enc_to_dec_proj = nn.Linear(encoder width, decoder width), applied to
the encoder's last hidden state before every cross-attention layer reads it.

Each side follows its transformers module: BERT (BertModel; BertLMHeadModel as the decoder, is_decoder and
add_cross_attention: causal self-attention, `crossattention` (a second BertAttention: query from the decoder's states,
key and value nn.Linear(hidden_size, hidden_size) over the encoder's states, post-LN), the MLM head over the tied word
embeddings) and GPT-2 (GPT2Model; GPT2LMHeadModel as the decoder: pre-LN blocks, with add_cross_attention
`ln_cross_attn` and GPT2Attention(is_cross_attention=True): q_attn = Conv1D(n_embd, n_embd) on the decoder's states,
c_attn = Conv1D(2 * n_embd, n_embd) on the encoder's, c_proj; Conv1D weights stored [in, out]). Masks as transformers
adds them: (1 - mask) * finfo(float32).min, the causal one applied first. The loss is EncoderDecoderModel's: labels
shifted right behind decoder_start_token_id into the decoder inputs (-100 becomes pad_token_id), the decoder's
attention mask where those are not pad_token_id, and the cross-entropy of the logits against the labels unshifted.

Module names are the checkpoint keys (the tied LM-head copies left out, as transformers' safetensors leave them), so
the weights load by name. Weights are float32 values (random, LayerNorm scales and biases included, so that every
term matters) held in float64; everything is computed in float64. For one padded batch: the config.json fields, the
weights, the logits, the loss and the gradient of the loss for every weight.

Usage: /usr/bin/python3 scripts/gen_encoder_decoder_widths_fixture.py   (torch >= 1.13)
"""
import json
import math
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'encoder-decoder' / 'widths.json'
NEG = torch.finfo(torch.float32).min

BERT = dict(model_type='bert', vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
            hidden_act='gelu', hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=8,
            type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0, position_embedding_type='absolute')
GPT2 = dict(model_type='gpt2', vocab_size=11, n_positions=8, n_embd=12, n_layer=1, n_head=2, n_inner=None,
            activation_function='gelu_new', resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
            initializer_range=0.02, bos_token_id=1, eos_token_id=2, pad_token_id=0)


class Node(nn.Module):
    """A plain container, so that attribute paths give the checkpoint keys."""


class Conv1D(nn.Module):
    """GPT-2's Conv1D: y = x W + b with W stored [in, out]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.empty(nf))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def heads(x, n):
    B, T, C = x.shape
    return x.view(B, T, n, C // n).permute(0, 2, 1, 3)


def merge(x):
    B, H, T, D = x.shape
    return x.permute(0, 2, 1, 3).reshape(B, T, H * D)


def attention(q, k, v, n, additive):
    """Scaled dot-product attention over n heads; `additive` [B, 1, Tq or 1, Tk] is added to the scores."""
    q, k, v = heads(q, n), heads(k, n), heads(v, n)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + additive
    return merge(torch.softmax(scores, dim=-1) @ v)


def inverted(mask):
    """transformers' invert_attention_mask / get_extended_attention_mask of a [B, T] padding mask: [B, 1, 1, T]."""
    return (1.0 - mask[:, None, None, :].double()) * NEG


# --- BERT ---------------------------------------------------------------------------------------------------------

def bert_attention(c):
    a = Node()
    a.self = Node()
    a.self.query, a.self.key, a.self.value = (nn.Linear(c['hidden_size'], c['hidden_size']) for _ in range(3))
    a.output = Node()
    a.output.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
    a.output.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
    return a


def bert_base(c, decoder):
    m = Node()
    m.embeddings = Node()
    m.embeddings.word_embeddings = nn.Embedding(c['vocab_size'], c['hidden_size'])
    m.embeddings.position_embeddings = nn.Embedding(c['max_position_embeddings'], c['hidden_size'])
    m.embeddings.token_type_embeddings = nn.Embedding(c['type_vocab_size'], c['hidden_size'])
    m.embeddings.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
    m.encoder = Node()
    m.encoder.layer = nn.ModuleList()
    for _ in range(c['num_hidden_layers']):
        layer = Node()
        layer.attention = bert_attention(c)
        if decoder:
            layer.crossattention = bert_attention(c)
        layer.intermediate = Node()
        layer.intermediate.dense = nn.Linear(c['hidden_size'], c['intermediate_size'])
        layer.output = Node()
        layer.output.dense = nn.Linear(c['intermediate_size'], c['hidden_size'])
        layer.output.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        m.encoder.layer.append(layer)
    if not decoder:  # BertLMHeadModel builds its BertModel without the pooler
        m.pooler = Node()
        m.pooler.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
    return m


def bert_attend(a, x, source, additive, n):
    src = x if source is None else source
    context = attention(a.self.query(x), a.self.key(src), a.self.value(src), n, additive)
    return a.output.LayerNorm(a.output.dense(context) + x)


def bert_forward(m, c, ids, mask, encoder_states=None, encoder_mask=None):
    B, T = ids.shape
    e = m.embeddings
    x = e.word_embeddings(ids) + e.token_type_embeddings(torch.zeros_like(ids)) + e.position_embeddings(torch.arange(T))[None]
    x = e.LayerNorm(x)
    if encoder_states is None:
        self_mask = inverted(mask)
    else:  # a decoder: the causal mask times the padding mask, then inverted once
        causal = torch.tril(torch.ones(T, T, dtype=torch.float64))
        self_mask = (1.0 - causal[None, None] * mask[:, None, None, :].double()) * NEG
    n = c['num_attention_heads']
    for layer in m.encoder.layer:
        x = bert_attend(layer.attention, x, None, self_mask, n)
        if encoder_states is not None:
            x = bert_attend(layer.crossattention, x, encoder_states, inverted(encoder_mask), n)
        x = layer.output.LayerNorm(layer.output.dense(gelu(layer.intermediate.dense(x))) + x)
    return x


def bert_lm_head(c):
    m = Node()
    m.bert = bert_base(c, decoder=True)
    m.cls = Node()
    m.cls.predictions = Node()
    m.cls.predictions.transform = Node()
    m.cls.predictions.transform.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
    m.cls.predictions.transform.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
    m.cls.predictions.bias = nn.Parameter(torch.empty(c['vocab_size']))
    return m


def bert_lm_forward(m, c, ids, mask, encoder_states, encoder_mask):
    x = bert_forward(m.bert, c, ids, mask, encoder_states, encoder_mask)
    t = m.cls.predictions.transform
    x = t.LayerNorm(gelu(t.dense(x)))
    return x @ m.bert.embeddings.word_embeddings.weight.T + m.cls.predictions.bias  # the decoder tied to the embeddings


# --- GPT-2 --------------------------------------------------------------------------------------------------------

def gpt2_base(c, decoder):
    d = c['n_embd']
    m = Node()
    m.wte = nn.Embedding(c['vocab_size'], d)
    m.wpe = nn.Embedding(c['n_positions'], d)
    m.h = nn.ModuleList()
    for _ in range(c['n_layer']):
        block = Node()
        block.ln_1 = nn.LayerNorm(d, eps=c['layer_norm_epsilon'])
        block.attn = Node()
        block.attn.c_attn = Conv1D(3 * d, d)
        block.attn.c_proj = Conv1D(d, d)
        if decoder:
            block.ln_cross_attn = nn.LayerNorm(d, eps=c['layer_norm_epsilon'])
            block.crossattention = Node()
            block.crossattention.c_attn = Conv1D(2 * d, d)
            block.crossattention.q_attn = Conv1D(d, d)
            block.crossattention.c_proj = Conv1D(d, d)
        block.ln_2 = nn.LayerNorm(d, eps=c['layer_norm_epsilon'])
        block.mlp = Node()
        block.mlp.c_fc = Conv1D(4 * d, d)
        block.mlp.c_proj = Conv1D(d, 4 * d)
        m.h.append(block)
    m.ln_f = nn.LayerNorm(d, eps=c['layer_norm_epsilon'])
    return m


def gpt2_forward(m, c, ids, mask, encoder_states=None, encoder_mask=None):
    B, T = ids.shape
    d, n = c['n_embd'], c['n_head']
    x = m.wte(ids) + m.wpe(torch.arange(T))[None]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None]
    padding = inverted(mask)
    for block in m.h:
        q, k, v = block.attn.c_attn(block.ln_1(x)).split(d, dim=2)
        q, k, v = heads(q, n), heads(k, n), heads(v, n)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // n)
        scores = torch.where(causal, scores, torch.tensor(NEG, dtype=scores.dtype)) + padding
        x = x + block.attn.c_proj(merge(torch.softmax(scores, dim=-1) @ v))
        if encoder_states is not None:
            cross = block.crossattention
            k, v = cross.c_attn(encoder_states).split(d, dim=2)
            x = x + cross.c_proj(attention(cross.q_attn(block.ln_cross_attn(x)), k, v, n, inverted(encoder_mask)))
        x = x + block.mlp.c_proj(gelu_new(block.mlp.c_fc(block.ln_2(x))))
    return m.ln_f(x)


def gpt2_lm_head(c):
    m = Node()
    m.transformer = gpt2_base(c, decoder=True)
    return m


def gpt2_lm_forward(m, c, ids, mask, encoder_states, encoder_mask):
    return gpt2_forward(m.transformer, c, ids, mask, encoder_states, encoder_mask) @ m.transformer.wte.weight.T  # lm_head tied


# --- the encoder-decoder ------------------------------------------------------------------------------------------

def width(c):
    return c['hidden_size'] if c['model_type'] == 'bert' else c['n_embd']


def build(enc_cfg, dec_cfg):
    m = Node()
    m.encoder = bert_base(enc_cfg, decoder=False) if enc_cfg['model_type'] == 'bert' else gpt2_base(enc_cfg, decoder=False)
    m.decoder = bert_lm_head(dec_cfg) if dec_cfg['model_type'] == 'bert' else gpt2_lm_head(dec_cfg)
    # widths differ and the decoder's config has no cross_attention_hidden_size: transformers adds the projection
    m.enc_to_dec_proj = nn.Linear(width(enc_cfg), width(dec_cfg))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith('.weight') and ('LayerNorm' in name or '.ln_' in name):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith('bias'):
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(0.4 * torch.randn_like(p))
            p.copy_(p.float())
    return m.double()


def shift_tokens_right(labels, pad, start):
    shifted = torch.full_like(labels, start)
    shifted[:, 1:] = labels[:, :-1]
    return shifted.masked_fill(shifted == -100, pad)


def forward(m, enc_cfg, dec_cfg, config, ids, mask, labels):
    enc = bert_forward if enc_cfg['model_type'] == 'bert' else gpt2_forward
    states = m.enc_to_dec_proj(enc(m.encoder, enc_cfg, ids, mask))
    dec_ids = shift_tokens_right(labels, config['pad_token_id'], config['decoder_start_token_id'])
    dec_mask = (dec_ids != config['pad_token_id']).long()
    dec = bert_lm_forward if dec_cfg['model_type'] == 'bert' else gpt2_lm_forward
    logits = dec(m.decoder, dec_cfg, dec_ids, dec_mask, states, mask)
    loss = nn.functional.cross_entropy(logits.reshape(-1, dec_cfg['vocab_size']), labels.reshape(-1), ignore_index=-100)
    return logits, loss, dec_ids


def g9(t):
    """Nine significant digits: float32 weights exactly, float64 results well inside the test's tolerance."""
    return [float(f'{x:.9g}') for x in t.flatten().tolist()]


def main():
    torch.manual_seed(16)
    # source lengths 5 and 3 (0 pads); labels end with the end token 2, -100 past it
    ids = torch.tensor([[3, 4, 5, 6, 7], [8, 3, 4, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    labels = torch.tensor([[4, 5, 6, 2], [7, 2, -100, -100]])
    cases = []
    for name, enc_cfg, dec_cfg in (('bert2gpt2', BERT, GPT2), ('gpt2bert', {**GPT2, 'vocab_size': 10}, {**BERT, 'vocab_size': 11})):
        config = {
            'architectures': ['EncoderDecoderModel'], 'model_type': 'encoder-decoder', 'is_encoder_decoder': True,
            'decoder_start_token_id': 1, 'pad_token_id': 0, 'eos_token_id': 2,
            'encoder': {**enc_cfg, 'is_decoder': False, 'add_cross_attention': False, 'cross_attention_hidden_size': None},
            'decoder': {**dec_cfg, 'is_decoder': True, 'add_cross_attention': True, 'cross_attention_hidden_size': None},
        }
        m = build(enc_cfg, dec_cfg)
        logits, loss, dec_ids = forward(m, enc_cfg, dec_cfg, config, ids, mask, labels)
        loss.backward()
        cases.append({
            'name': name, 'config': config,
            'weights': {k: {'shape': list(v.shape), 'data': g9(v)} for k, v in m.state_dict().items()},
            'decoder_input_ids': dec_ids.tolist(),
            'logits': g9(logits.detach()), 'loss': loss.item(),
            # the encoder's BERT pooler is not on the loss's path: it has no gradient
            'grads': {k: g9(p.grad) for k, p in m.named_parameters() if p.grad is not None},
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({'torch': torch.__version__, 'input_ids': ids.tolist(), 'attention_mask': mask.tolist(), 'labels': labels.tolist(), 'cases': cases}) + '\n')
    print(f'wrote {OUT} ({OUT.stat().st_size} bytes)')


if __name__ == '__main__':
    main()
